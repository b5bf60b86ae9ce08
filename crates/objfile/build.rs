// Test prerequisites as cfgs (heapdrift_go, ...): see the included file.
include!("../../build/test-prereqs.rs");
