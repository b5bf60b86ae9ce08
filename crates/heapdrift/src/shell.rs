//! `heapdrift completions SHELL` and `heapdrift man [SUBCOMMAND]`: generated
//! from the clap definitions of the command tree ([`crate::app::command_tree`]),
//! so they never drift from the options themselves.

use std::process::ExitCode;

use clap::{Parser, ValueEnum};

/// Writes a shell's completion script on stdout.
#[derive(Debug, Parser)]
#[command(
    about = "Write a completion script for a shell on stdout",
    long_about = "Write a completion script for a shell on stdout. For example:\n\n  \
        bash: heapdrift completions bash > ~/.local/share/bash-completion/completions/heapdrift\n  \
        zsh:  heapdrift completions zsh > ~/.zfunc/_heapdrift (with fpath+=~/.zfunc)\n  \
        fish: heapdrift completions fish > ~/.config/fish/completions/heapdrift.fish"
)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Writes a manual page (roff) on stdout.
#[derive(Debug, Parser)]
#[command(
    about = "Write the manual page (roff) on stdout",
    long_about = "Write the manual page (roff) on stdout: heapdrift(1), or heapdrift-SUBCOMMAND(1). \
        For example: heapdrift man | man -l -, or heapdrift man hunt > heapdrift-hunt.1"
)]
pub struct ManArgs {
    /// A subcommand's page instead of the overview.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        crate::app::SUBCOMMANDS.iter().copied()
    ))]
    pub subcommand: Option<String>,
}

pub fn completions(a: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match a.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Elvish => S::Elvish,
        Shell::Powershell => S::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut crate::app::command_tree(),
        "heapdrift",
        &mut out,
    );
    crate::app::write_stdout(&out)
}

pub fn man(a: &ManArgs) -> anyhow::Result<ExitCode> {
    let tree = crate::app::command_tree();
    let page = match &a.subcommand {
        None => tree,
        Some(name) => {
            let sub = tree
                .find_subcommand(name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no subcommand {name}"))?;
            // The page's title and synopsis name the whole command.
            sub.name(format!("heapdrift-{name}"))
                .bin_name(format!("heapdrift {name}"))
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    crate::app::write_stdout(&out)
}
