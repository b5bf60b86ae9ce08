//! The command line as a user meets it: shell completions that complete in
//! a real bash, manual pages that groff renders without a warning, and one
//! error line per mistake.

use std::process::{Command, Output};

fn heapdrift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapdrift"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What bash's programmable completion offers for `words` (the last one
/// being completed), with the script `heapdrift completions bash` writes.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let script = stdout(&heapdrift(&["completions", "bash"]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heapdrift.bash");
    std::fs::write(&path, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; \
         _heapdrift heapdrift '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.join(" "),
        words[cword],
        words[cword - 1],
    );
    let o = Command::new("bash")
        .args(["--norc", "-c", &prog])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stdout(&o).lines().map(String::from).collect()
}

#[test]
fn bash_completes_subcommands_and_their_options() {
    assert_eq!(bash_complete(&["heapdrift", "hu"]), ["hunt"]);
    let all = bash_complete(&["heapdrift", ""]);
    for sub in [
        "pprof",
        "hunt",
        "flame",
        "watch",
        "serve",
        "completions",
        "man",
    ] {
        assert!(all.iter().any(|c| c == sub), "{sub} in {all:?}");
    }
    assert_eq!(
        bash_complete(&["heapdrift", "hunt", "--fail-"]),
        ["--fail-on"]
    );
    // pprof's flags come from its flag table (Go's flag package takes the
    // two-dash spelling).
    let p = bash_complete(&["heapdrift", "pprof", "--nodec"]);
    assert_eq!(p, ["--nodecount"]);
    let p = bash_complete(&["heapdrift", "pprof", "--inuse_"]);
    assert_eq!(p, ["--inuse_space", "--inuse_objects"]);
    assert_eq!(bash_complete(&["heapdrift", "completions", "z"]), ["zsh"]);
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = heapdrift(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let s = stdout(&o);
        for sub in ["pprof", "hunt", "flame", "watch", "serve"] {
            assert!(s.contains(sub), "{shell}: {sub}");
        }
        assert!(s.contains("nodecount"), "{shell}: pprof's flags");
    }
}

/// groff renders each page with no warning; each option is on its page.
#[test]
#[cfg_attr(
    not(heapdrift_groff),
    ignore = "needs groff on PATH: scripts/setup-browser.sh installs groff-base"
)]
fn manual_pages_render_and_list_every_option() {
    let pages: [(&str, &[&str]); 4] = [
        (
            "",
            &["hunt", "pprof", "watch", "serve", "flame", "completions"],
        ),
        (
            "hunt",
            &["--fail-on", "--min-confidence", "--user-prefix", "--series"],
        ),
        (
            "watch",
            &["--every", "--archive", "--dump-every", "--leak-every"],
        ),
        (
            "pprof",
            &["--top", "--sample_index", "--diff_base", "--tls_ca"],
        ),
    ];
    for (sub, wants) in pages {
        let args: Vec<&str> = std::iter::once("man")
            .chain((!sub.is_empty()).then_some(sub))
            .collect();
        let o = heapdrift(&args);
        assert!(o.status.success(), "man {sub}");
        let dir = tempfile::tempdir().unwrap();
        let roff = dir.path().join("page.1");
        std::fs::write(&roff, &o.stdout).unwrap();
        let r = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&roff)
            .output()
            .unwrap();
        assert!(r.status.success(), "man {sub}");
        assert_eq!(
            String::from_utf8_lossy(&r.stderr),
            "",
            "groff warnings on man {sub}"
        );
        let text = Command::new("groff")
            .args(["-man", "-Tascii", "-P-cbou"])
            .arg(&roff)
            .output()
            .unwrap();
        let text = stdout(&text);
        let title = if sub.is_empty() {
            "heapdrift".to_string()
        } else {
            format!("heapdrift-{sub}")
        };
        assert!(text.contains(&title), "{title}: {text}");
        assert!(
            text.contains(env!("CARGO_PKG_VERSION")),
            "version on man {sub}"
        );
        for w in wants {
            assert!(text.contains(w), "man {sub}: {w} missing");
        }
    }
}

#[test]
fn mistakes_are_one_line_naming_the_subcommand_exit_2() {
    for (args, want) in [
        (
            &["hunt", "--jsn", "x"][..],
            "heapdrift hunt: unexpected argument '--jsn' found",
        ),
        (
            &["hunt", "/no/such/dir"][..],
            "heapdrift hunt: stat /no/such/dir: no such file or directory",
        ),
        (
            &["serve", "/no/such/dir"][..],
            "heapdrift serve: stat /no/such/dir: no such file or directory",
        ),
        (
            &["flame"][..],
            "heapdrift flame: the following required arguments were not provided",
        ),
        (
            &["watch", "--every", "0", "127.0.0.1:1"][..],
            "heapdrift watch: --every must be more than 0",
        ),
        (
            &["completions", "tcsh"][..],
            "heapdrift completions: invalid value 'tcsh'",
        ),
        (&["bogus"][..], "heapdrift: unknown command \"bogus\""),
    ] {
        let o = heapdrift(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
    // Help is not a mistake.
    let o = heapdrift(&["hunt", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("--fail-on"));
}
