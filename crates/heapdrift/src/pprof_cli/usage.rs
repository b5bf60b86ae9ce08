//! pprof's usage text, byte for byte, and a clap description of the same
//! flags for shell completions and the manual page.

use report::config::{self, COMMANDS, CONFIG_FIELDS, FieldKind};

use super::low::{FlagType, SRC_FLAGS, SrcFlag};

const USAGE_HDR: &str = "usage:

Produce output in the specified format.

   pprof <format> [options] [binary] <source> ...

Omit the format to get an interactive shell whose commands can be used
to generate various views of a profile

   pprof [options] [binary] <source> ...

Omit the format and provide the \"-http\" flag to get an interactive web
interface at the specified host:port that can be used to navigate through
various views of a profile.

   pprof -http [host]:[port] [options] [binary] <source> ...

Details:
";

const USAGE_SRC: &str = "

  Source options:
    -seconds              Duration for time-based profile collection
    -timeout              Timeout in seconds for profile collection
    -buildid              Override build id for main binary
    -add_comment          Free-form annotation to add to the profile
                          Displayed on some reports or with pprof -comments
    -diff_base source     Source of base profile for comparison
    -base source          Source of base profile for profile subtraction
    profile.pb.gz         Profile in compressed protobuf format
    legacy_profile        Profile in legacy pprof format
    http://host/profile   URL for profile handler to retrieve
    -symbolize=           Controls source of symbol information
      none                  Do not attempt symbolization
      local                 Examine only local binaries
      fastlocal             Only get function names from local binaries
      remote                Do not examine local binaries
      force                 Force re-symbolization
    Binary                  Local path or build id of binary for symbolization
";

const USAGE_TLS: &str =
    "    -tls_cert             TLS client certificate file for fetching profile and symbols
    -tls_key              TLS private key file for fetching profile and symbols
    -tls_ca               TLS CA certs file for fetching profile and symbols";

const USAGE_VARS: &str = "

  Misc options:
   -http              Provide web interface at host:port.
                      Host is optional and 'localhost' by default.
                      Port is optional and a randomly available port by default.
   -no_browser        Skip opening a browser for the interactive web UI.
   -tools             Search path for object tools
   -all_frames        Ignore drop_frames and keep_frames regexps in the profile
                      Rarely needed, mainly used for debugging pprof itself

  Legacy convenience options:
   -inuse_space           Same as -sample_index=inuse_space
   -inuse_objects         Same as -sample_index=inuse_objects
   -alloc_space           Same as -sample_index=alloc_space
   -alloc_objects         Same as -sample_index=alloc_objects
   -total_delay           Same as -sample_index=delay
   -contentions           Same as -sample_index=contentions
   -mean_delay            Same as -mean -sample_index=delay

  Environment Variables:
   PPROF_TMPDIR       Location for saved profiles (default $HOME/pprof)
   PPROF_TOOLS        Search path for object-level tools
   PPROF_BINARY_PATH  Search path for local binary files
                      default: $HOME/pprof/binaries
                      searches $buildid/$name, $buildid/*, $path/$buildid,
                      ${buildid:0:2}/${buildid:2}.debug, $name, $path,
                      ${name}.debug, $dir/.debug/${name}.debug,
                      usr/lib/debug/$dir/${name}.debug
   * On Windows, %USERPROFILE% is used instead of $HOME";

/// The usage text `go tool pprof -h` prints (to stderr), newline-terminated.
pub fn usage_text() -> String {
    format!(
        "{USAGE_HDR}{}{USAGE_SRC}{USAGE_TLS}{USAGE_VARS}\n",
        config::usage(true)
    )
}

/// pprof's flags as a clap command, for shell completions and the manual
/// page only. They are parsed by [`super::LowArgs`] (Go's flag package),
/// which takes the `--name` spelling clap completes as well as `-name`.
pub fn clap_command() -> clap::Command {
    use clap::{Arg, ArgAction, ValueHint};
    let first_line = |s: &'static str| s.lines().next().unwrap_or("").trim().to_string();
    let flag = |name: &'static str, help: String, ty: FlagType| {
        let arg = Arg::new(name).long(name).help(help);
        match ty {
            FlagType::Bool => arg.action(ArgAction::SetTrue),
            FlagType::Int => arg.value_name("N"),
            FlagType::Float => arg.value_name("X"),
            FlagType::Str => arg.value_name("VALUE"),
        }
    };
    let mut cmd = clap::Command::new("pprof")
        .about("go tool pprof's reports: the same flags, byte-identical output")
        .long_about(
            "go tool pprof's reports: the same flags (one dash or two: -top, --top), \
             byte-identical output. Sources are profile files (profile.proto, gzipped or \
             not, and Go's legacy texts) or URLs of /debug/pprof/ endpoints; several are \
             merged. `heapdrift pprof -h` prints pprof's own usage.",
        )
        .arg(
            Arg::new("source")
                .value_name("SOURCE")
                .num_args(1..)
                .value_hint(ValueHint::AnyPath)
                .help("Profile files or URLs (a binary may come first)"),
        );
    let mut commands: Vec<_> = COMMANDS.iter().collect();
    commands.sort_by_key(|c| c.name);
    for c in commands {
        let ty = if c.has_param {
            FlagType::Str
        } else {
            FlagType::Bool
        };
        let arg = flag(c.name, first_line(c.description), ty)
            .help_heading("Output formats (at most one)");
        cmd = cmd.arg(if c.has_param {
            arg.value_name("REGEXP")
        } else {
            arg
        });
    }
    for f in CONFIG_FIELDS {
        let ty = match f.kind {
            FieldKind::Bool => FlagType::Bool,
            FieldKind::Int => FlagType::Int,
            FieldKind::Float => FlagType::Float,
            FieldKind::Str => FlagType::Str,
            FieldKind::Choice(choices) => {
                for &c in choices {
                    let help = config::CHOICE_HELP
                        .iter()
                        .find(|(name, _)| *name == c)
                        .map_or(String::new(), |(_, h)| first_line(h));
                    cmd = cmd.arg(flag(c, help, FlagType::Bool).help_heading("Options"));
                }
                continue;
            }
        };
        let arg = flag(f.name, first_line(f.help), ty).help_heading("Options");
        cmd = cmd.arg(if f.name == "output" || f.name == "source_path" {
            arg.value_hint(ValueHint::AnyPath)
        } else {
            arg
        });
    }
    for &(name, f, ty) in SRC_FLAGS {
        let arg = flag(name, src_help(f).to_string(), ty).help_heading("Source options");
        cmd = cmd.arg(match f {
            SrcFlag::Base | SrcFlag::DiffBase => {
                arg.value_name("SOURCE").value_hint(ValueHint::AnyPath)
            }
            SrcFlag::TlsCert | SrcFlag::TlsKey | SrcFlag::TlsCa => {
                arg.value_name("FILE").value_hint(ValueHint::FilePath)
            }
            SrcFlag::Tools => arg.value_hint(ValueHint::DirPath),
            _ => arg,
        });
    }
    cmd
}

/// One line of help for each of pprof's own flags, as its usage text says.
fn src_help(f: SrcFlag) -> &'static str {
    match f {
        SrcFlag::DiffBase => "Source of base profile for comparison",
        SrcFlag::Base => "Source of base profile for profile subtraction",
        SrcFlag::Symbolize => {
            "Controls source of symbol information (none, local, fastlocal, remote, force)"
        }
        SrcFlag::BuildId => "Override build id for main binary",
        SrcFlag::Timeout => "Timeout in seconds for profile collection",
        SrcFlag::AddComment => "Free-form annotation to add to the profile",
        SrcFlag::AllFrames => "Ignore drop_frames and keep_frames regexps in the profile",
        SrcFlag::Seconds => "Duration for time-based profile collection",
        SrcFlag::InuseSpace => "Same as -sample_index=inuse_space",
        SrcFlag::InuseObjects => "Same as -sample_index=inuse_objects",
        SrcFlag::AllocSpace => "Same as -sample_index=alloc_space",
        SrcFlag::AllocObjects => "Same as -sample_index=alloc_objects",
        SrcFlag::TotalDelay => "Same as -sample_index=delay",
        SrcFlag::Contentions => "Same as -sample_index=contentions",
        SrcFlag::MeanDelay => "Same as -mean -sample_index=delay",
        SrcFlag::Tools => "Search path for object tools",
        SrcFlag::Http => "Provide web interface at host:port",
        SrcFlag::NoBrowser => "Skip opening a browser for the interactive web UI",
        SrcFlag::TlsCert => "TLS client certificate file for fetching profile and symbols",
        SrcFlag::TlsKey => "TLS private key file for fetching profile and symbols",
        SrcFlag::TlsCa => "TLS CA certs file for fetching profile and symbols",
    }
}
