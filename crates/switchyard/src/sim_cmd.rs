//! `switchyard sim`: runs the balancing lab's study (crates/sim) over scenarios, loads,
//! algorithms and seeds; prints the Markdown report, or writes it with its SVG charts and CSV.

use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use switchyard_sim::study::{self, Plan};
use switchyard_sim::sweep::{self, Sweep};
use switchyard_sim::{Fleet, Scenario, render};

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Scenario: heterogeneous, slowdown, autoscale, red-black, sinkhole, herd, or all
    /// (repeatable).
    #[arg(long, default_values_t = [String::from("all")])]
    scenario: Vec<String>,
    /// The fleet: `small` (six servers, four balancers) or `large` (sixty servers, twenty
    /// balancers, as docs/balancing.md describes).
    #[arg(long, default_value = "small")]
    fleet: String,
    /// Offered load as a share of the fleet's capacity (repeatable).
    #[arg(long, default_values_t = [0.5, 0.7, 0.85, 0.95])]
    load: Vec<f64>,
    /// First seed; each cell runs `--seeds` seeds from it (same seeds, same output).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seeds per cell (figures are over all of them).
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// The load of the headline table and of the time and latency charts: one of `--load`
    /// (default: 0.85 if it is one, else the last).
    #[arg(long)]
    headline_load: Option<f64>,
    /// Write README.md, results.csv, timeline.csv and the SVG charts into this directory
    /// instead of printing the Markdown.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sweep `edge`'s tunables instead (each alone, at the headline load); with `--out`,
    /// writes sweeps-<fleet>.md there.
    #[arg(long)]
    sweep: bool,
}

fn scenarios(names: &[String]) -> anyhow::Result<Vec<Scenario>> {
    if names.iter().any(|n| n == "all") {
        return Ok(Scenario::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| {
            Scenario::parse(name).with_context(|| {
                let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario `{name}` ({}, all)", known.join(", "))
            })
        })
        .collect()
}

fn plan(args: &SimArgs) -> anyhow::Result<Plan> {
    if let Some(bad) = args.load.iter().find(|l| !(**l > 0.0 && **l < 2.0)) {
        bail!("--load {bad}: expected a share of capacity above 0 and below 2");
    }
    if args.seeds == 0 {
        bail!("--seeds 0: expected at least one seed");
    }
    let fleet = Fleet::parse(&args.fleet)
        .with_context(|| format!("--fleet {}: expected small or large", args.fleet))?;
    Ok(Plan {
        fleet,
        scenarios: scenarios(&args.scenario)?,
        loads: args.load.clone(),
        seeds: (args.seed..args.seed.saturating_add(args.seeds)).collect(),
    })
}

fn headline_load(asked: Option<f64>, loads: &[f64]) -> anyhow::Result<f64> {
    match asked {
        Some(load) if loads.contains(&load) => Ok(load),
        Some(load) => bail!("--headline-load {load}: not one of the --load values"),
        None if loads.contains(&0.85) => Ok(0.85),
        None => loads.last().copied().context("no --load given"),
    }
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(&args)?;
    let headline = headline_load(args.headline_load, &plan.loads)?;
    if args.sweep {
        return run_sweep(plan, headline, args.out);
    }
    let started = Instant::now();
    let cells = study::run(&plan, progress);
    let seconds = started.elapsed().as_secs_f64();
    let simulated: u64 = cells.iter().map(|c| c.simulated_requests).sum();
    let speed = format!(
        "{} runs, {simulated} simulated requests in {seconds:.1} s ({:.0} simulated requests/s)",
        cells.len() * plan.seeds.len(),
        simulated as f64 / seconds.max(1e-9)
    );
    eprintln!("\r{speed}{:20}", "");
    let Some(dir) = args.out else {
        print!("{}", render::markdown(&plan, &cells, headline));
        return Ok(ExitCode::SUCCESS);
    };
    let files = render::files(&plan, &cells, headline);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for file in files {
        let mut contents = file.contents;
        if file.name == "README.md" {
            contents.push_str(&format!(
                "\n---\nThis report: {speed}, on a 2-core machine.\n"
            ));
        }
        let path = dir.join(&file.name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("wrote the report to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `--sweep`: every tunable of `edge`, each alone, in the plan's scenarios at `load`.
fn run_sweep(plan: Plan, load: f64, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let sweep = Sweep {
        fleet: plan.fleet,
        scenarios: plan.scenarios,
        load,
        seeds: plan.seeds,
    };
    let started = Instant::now();
    let results = sweep::run(&sweep, &sweep::knobs(), progress);
    let simulated: u64 = (results.iter())
        .flat_map(|(_, rows)| rows.iter().map(|r| r.simulated_requests))
        .sum();
    eprintln!(
        "\r{simulated} simulated requests in {:.1} s{:60}",
        started.elapsed().as_secs_f64(),
        ""
    );
    let markdown = sweep::markdown(&sweep, &results);
    let Some(dir) = out else {
        print!("{markdown}");
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("sweeps-{}.md", sweep.fleet.name()));
    std::fs::write(&path, markdown).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// A one-line progress bar on stderr.
fn progress(done: usize, total: usize, what: &str) {
    let width = 30;
    let filled = done * width / total.max(1);
    eprint!(
        "\r[{}{}] {}/{total} {what:60.60}",
        "#".repeat(filled),
        ".".repeat(width - filled),
        done + 1
    );
    let _ = std::io::stderr().flush();
}
