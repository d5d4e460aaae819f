//! Medians, formatting and the printed tables.

use std::time::Duration;

use crate::*;

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

pub(crate) fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| {
        if v < 100.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.0}")
        }
    })
}

pub(crate) fn fmt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}×", a / b),
        _ => "n/a".into(),
    }
}

pub(crate) fn fmt_mb(kb: Option<u64>) -> String {
    kb.map_or("n/a".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

pub(crate) fn print_report(rows: &[Row], runs: usize, cli: &Cli, verified: bool) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Inkan B-T sealing vs pyHanko vs the floor — median of {runs} run(s){}; {cores} cores ({cpu})",
        if cli.quick { ", quick mode" } else { "" }
    );
    println!();
    println!("| file | size MB | Inkan ms | pyHanko ms | pyHanko/Inkan | floor ms | Inkan/floor | Inkan peak MB | pyHanko peak MB |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (inkan, pyhanko, floor) = (median(&r.inkan), median(&r.pyhanko), median(&r.floor));
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.size as f64 / 1_048_576.0,
            fmt_ms(inkan),
            fmt_ms(pyhanko),
            fmt_ratio(pyhanko, inkan),
            fmt_ms(floor),
            fmt_ratio(inkan, floor),
            fmt_mb(r.inkan_peak_kb),
            fmt_mb(r.pyhanko_peak_kb),
        );
    }
    println!();
    println!("Start-up told apart: both as processes (Inkan's `seal-once` child: start, open the PKI, unwrap the key, seal), and both as libraries (pyHanko inside one Python process, after its imports):");
    println!();
    println!("| file | Inkan process ms | pyHanko process ms | ratio | Inkan library ms | pyHanko library ms | ratio |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (ip, pp) = (median(&r.inkan_process), median(&r.pyhanko));
        let (il, pl) = (median(&r.inkan), median(&r.pyhanko_library));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            fmt_ms(ip),
            fmt_ms(pp),
            fmt_ratio(pp, ip),
            fmt_ms(il),
            fmt_ms(pl),
            fmt_ratio(pl, il),
        );
    }
    println!();
    println!("Where Inkan's time goes: a B-T seal makes 1 TSA request and 1 CMS signature (/Contents is sized from the key's longest signature and the TSA client's last token size), reads the input while hashing and writing the update, fsyncs it and renames it into place. Its steps timed one by one, and a whole seal at B-B (no TSA); the copy column is what copying the file would cost, for scale:");
    println!();
    println!("| file | B-T seal ms | B-B seal ms | TSA request ms | CMS signature ms | read+SHA-256 ms | read+SHA-256+write ms | fsync ms | copy ms | 1 TSA + 1 CMS + the rest ms |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let pick = |f: fn(&Steps) -> Duration| {
            median(&r.steps.iter().map(|s| ms(f(s))).collect::<Vec<_>>())
        };
        let seal_bb = pick(|s| s.seal_bb);
        let tsa = pick(|s| s.tsa);
        let cms = pick(|s| s.cms);
        let hash = pick(|s| s.hash);
        let hash_write = pick(|s| s.hash_write);
        let fsync = pick(|s| s.fsync);
        let copy = pick(|s| s.copy);
        let sum = [tsa, cms, hash_write, fsync]
            .iter()
            .copied()
            .sum::<Option<f64>>();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            fmt_ms(median(&r.inkan)),
            fmt_ms(seal_bb),
            fmt_ms(tsa),
            fmt_ms(cms),
            fmt_ms(hash),
            fmt_ms(hash_write),
            fmt_ms(fsync),
            fmt_ms(copy),
            fmt_ms(sum),
        );
    }
    println!();
    if verified {
        println!("Verification of Inkan's B-T seal, both as processes and online (OCSP and CRLs from the served PKI): `inkan verify --trust root.pem` vs `pyhanko sign validate --trust root.pem --trust-replace`:");
        println!();
        println!("| file | inkan verify ms | pyHanko validate ms | pyHanko/Inkan | inkan verify peak MB | pyHanko validate peak MB |");
        println!("|---|--:|--:|--:|--:|--:|");
        for r in rows {
            let (v, p) = (median(&r.verify), median(&r.pyhanko_validate));
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.label,
                fmt_ms(v),
                fmt_ms(p),
                fmt_ratio(p, v),
                fmt_mb(r.verify_peak_kb),
                fmt_mb(r.pyhanko_validate_peak_kb),
            );
        }
    } else {
        println!("Verification: left out (no `inkan verify` subcommand in this build).");
    }
    println!();
    println!("Targets (issue): pyHanko/Inkan ≥ 20× on the text file and ≥ 10× on the 50 MB scan; Inkan/floor ≤ 3×; Inkan peak < 25 MB on the 50 MB scan. Not asserted here.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
