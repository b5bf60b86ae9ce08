//! pprof's frame pruning (prune.go): `Prune`, `RemoveUninteresting`
//! (the profile's drop_frames/keep_frames) and `PruneFrom`.
use crate::model::Profile;
use regex::Regex;
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("failed to compile regexp {pattern}: {source}")]
pub struct PruneError {
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

const RESERVED: [&str; 2] = ["(anonymous namespace)", "operator()"];

/// pprof's `simplifyFunc`: drop a leading '.' (PPC64 ELFv1) and cut at the
/// first '(' that does not belong to `(anonymous namespace)` or
/// `operator()`. Scans as Go's leftmost-first `FindAll` over the
/// alternation `\(anonymous namespace\)|operator\(\)|\(` would.
pub fn simplify_func(f: &str) -> &str {
    let name = f.strip_prefix('.').unwrap_or(f);
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(r) = RESERVED.iter().find(|r| b[i..].starts_with(r.as_bytes())) {
            i += r.len();
        } else if b[i] == b'(' {
            return &name[..i];
        } else {
            i += 1;
        }
    }
    name
}

/// pprof's `Prune`: in each location, the outermost inline line whose
/// (simplified) function matches `drop` and not `keep` is cut together with
/// everything it called; then each stack loses the frames below the
/// root-most pruned location that sits under a non-pruned caller.
pub fn prune(p: &mut Profile, drop: &Regex, keep: Option<&Regex>) {
    let n = p.locations.len();
    let mut prune_loc = vec![false; n];
    let mut prune_beneath = vec![false; n];
    let mut cache: HashMap<String, bool> = HashMap::new();
    for li in 0..n {
        let cut = {
            let l = &p.locations[li];
            let mut found = None;
            for (i, ln) in l.lines.iter().enumerate().rev() {
                let Some(f) = ln.function else { continue };
                let name = &p.functions[f as usize].name;
                if name.is_empty() {
                    continue;
                }
                let hit = match cache.get(name.as_str()) {
                    Some(&r) => r,
                    None => {
                        let s = simplify_func(name);
                        let r = drop.is_match(s) && keep.is_none_or(|k| !k.is_match(s));
                        cache.insert(name.clone(), r);
                        r
                    }
                };
                if hit {
                    found = Some(i);
                    break;
                }
            }
            found
        };
        if let Some(i) = cut {
            prune_beneath[li] = true;
            let l = &mut p.locations[li];
            if i == l.lines.len() - 1 {
                prune_loc[li] = true;
            } else {
                l.lines.drain(..=i);
            }
        }
    }
    for s in &mut p.samples {
        let mut found_user = false;
        for i in (0..s.locations.len()).rev() {
            let id = s.locations[i] as usize;
            if !prune_loc[id] && !prune_beneath[id] {
                found_user = true;
                continue;
            }
            if !found_user {
                continue;
            }
            if prune_loc[id] {
                s.locations.drain(..=i);
                break;
            }
            if prune_beneath[id] {
                s.locations.drain(..i);
                break;
            }
        }
    }
}

/// pprof's `RemoveUninteresting`: prune with the profile's `drop_frames`
/// and `keep_frames`, each anchored as `^(…)$`.
pub fn remove_uninteresting(p: &mut Profile) -> Result<(), PruneError> {
    if p.drop_frames.is_empty() {
        return Ok(());
    }
    let compile = |pat: &str| {
        Regex::new(&format!("^({pat})$")).map_err(|source| PruneError {
            pattern: pat.to_string(),
            source,
        })
    };
    let drop = compile(&p.drop_frames)?;
    let keep = if p.keep_frames.is_empty() {
        None
    } else {
        Some(compile(&p.keep_frames)?)
    };
    prune(p, &drop, keep.as_ref());
    Ok(())
}

/// pprof's `PruneFrom`: in each location the innermost inline line whose
/// (simplified) function matches `re` becomes the leaf, and each stack
/// starts at its leaf-most such location.
pub fn prune_from(p: &mut Profile, re: &Regex) {
    let n = p.locations.len();
    let mut prune_beneath = vec![false; n];
    let funcs = &p.functions;
    for (l, beneath) in p.locations.iter_mut().zip(prune_beneath.iter_mut()) {
        let cut = l.lines.iter().position(|ln| {
            ln.function.is_some_and(|f| {
                let name = &funcs[f as usize].name;
                !name.is_empty() && re.is_match(simplify_func(name))
            })
        });
        if let Some(i) = cut {
            *beneath = true;
            l.lines.drain(..i);
        }
    }
    for s in &mut p.samples {
        if let Some(i) = s.locations.iter().position(|&l| prune_beneath[l as usize]) {
            s.locations.drain(..i);
        }
    }
}
