//! pprof's web UI views (flame graph, top, graph, peek, source).
