//! Sweeps of `edge`'s tunables: each one varied alone around the defaults, every scenario at
//! one load, so each default can be chosen, and justified, from numbers.

use crate::config::Config;
use crate::report::Report;
use crate::scenario::{Fleet, Scenario};
use std::fmt::Write as _;
use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy, StatParams, WarmUp};

/// One value of a tunable, with everything else at its default.
#[derive(Debug, Clone)]
pub struct Setting {
    pub label: String,
    pub default: bool,
    pub params: EdgeParams,
    pub stats: StatParams,
}

/// A tunable and the values it is swept over.
#[derive(Debug, Clone)]
pub struct Knob {
    pub name: &'static str,
    pub settings: Vec<Setting>,
}

/// What to run: every knob's settings in each scenario on `fleet` at `load`.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub fleet: Fleet,
    pub scenarios: Vec<Scenario>,
    pub load: f64,
    pub seeds: Vec<u64>,
}

/// One setting's figures per scenario: errors (share) and p99 (seconds), means over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    pub default: bool,
    pub figures: Vec<(f64, f64)>,
    pub simulated_requests: u64,
}

fn setting(
    label: impl Into<String>,
    tweak: impl FnOnce(&mut EdgeParams, &mut StatParams),
) -> Setting {
    let (mut params, mut stats) = (EdgeParams::default(), StatParams::default());
    tweak(&mut params, &mut stats);
    Setting {
        default: params == EdgeParams::default() && stats == StatParams::default(),
        label: label.into(),
        params,
        stats,
    }
}

fn knob(name: &'static str, settings: Vec<Setting>) -> Knob {
    Knob { name, settings }
}

fn seconds(s: f64) -> u64 {
    Duration::from_secs_f64(s).as_nanos() as u64
}

/// `edge`'s tunables and the values tried, the default among them.
pub fn knobs() -> Vec<Knob> {
    let each = |values: &[f64], tweak: fn(&mut EdgeParams, &mut StatParams, f64)| {
        (values.iter())
            .map(|&v| setting(v.to_string(), |p, s| tweak(p, s, v)))
            .collect::<Vec<_>>()
    };
    vec![
        knob(
            "error_alpha (weight of each outcome in the error score)",
            each(&[0.05, 0.1, 0.2, 0.3, 0.5], |_, s, v| s.error_alpha = v),
        ),
        knob(
            "k_err (weight of the error score)",
            each(&[2.0, 5.0, 10.0, 20.0], |p, _, v| p.k_err = v),
        ),
        knob(
            "error_threshold (filter above this error score)",
            each(&[0.2, 0.35, 0.5, 0.8], |p, _, v| p.error_threshold = v),
        ),
        knob(
            "k_latency (weight of relative latency)",
            each(&[0.0, 1.0, 2.0, 4.0], |p, _, v| p.k_latency = v),
        ),
        knob(
            "k_latency_warming (the same for joiners once the warm endpoints are busy)",
            each(&[0.0, 1.0, 2.0], |p, _, v| p.k_latency_warming = v),
        ),
        knob(
            "busy_fleet_at (utilization from which the warm endpoints are busy)",
            each(&[0.6, 0.8, 0.9], |p, _, v| p.busy_fleet_at = v),
        ),
        knob(
            "k_util (weight of reported utilization without a capacity estimate)",
            each(&[0.0, 1.0, 2.0, 4.0], |p, _, v| p.k_util = v),
        ),
        knob(
            "warm-up window s",
            each(&[0.0, 2.0, 10.0, 30.0, 90.0], |p, _, v| {
                p.warm_up = (v > 0.0).then(|| WarmUp {
                    window_ns: seconds(v),
                    ..WarmUp::default()
                });
            }),
        ),
        knob(
            "warm-up floor (share at the start of the window)",
            each(&[0.05, 0.1, 0.25, 0.5], |p, _, v| {
                p.warm_up = Some(WarmUp {
                    min_weight: v,
                    ..WarmUp::default()
                });
            }),
        ),
        knob(
            "max_probation (requests before a first answer)",
            each(&[1.0, 2.0, 4.0], |p, _, v| p.max_probation = v as u32),
        ),
        knob(
            "probe_after s (re-admit an endpoint not picked this long)",
            each(&[0.0, 1.0, 3.0, 10.0], |p, _, v| {
                p.probe_after_ns = seconds(v)
            }),
        ),
        knob(
            "decay half-life s (error score and stale utilization)",
            each(&[2.0, 10.0, 30.0], |_, s, v| {
                s.decay_half_life_ns = seconds(v)
            }),
        ),
        knob(
            "scan_up_to (scan clusters this small in full)",
            each(&[0.0, 8.0, 64.0, 128.0], |p, _, v| {
                p.scan_up_to = v as usize
            }),
        ),
        knob(
            "latency tau s (how fast a latency estimate follows its samples)",
            each(&[1.0, 3.0, 10.0], |_, s, v| s.ewma_tau_ns = seconds(v)),
        ),
        knob(
            "capacity_aware (score by projected utilization)",
            vec![
                setting("true", |_, _| {}),
                setting("false", |p, _| p.capacity_aware = false),
            ],
        ),
    ]
}

/// Runs every setting of `knobs`; `progress(done, total, what)` is called before each.
pub fn run(
    sweep: &Sweep,
    knobs: &[Knob],
    mut progress: impl FnMut(usize, usize, &str),
) -> Vec<(&'static str, Vec<Row>)> {
    let total: usize = knobs.iter().map(|k| k.settings.len()).sum();
    let mut done = 0;
    let mut out = Vec::with_capacity(knobs.len());
    for knob in knobs {
        let mut rows = Vec::with_capacity(knob.settings.len());
        for setting in &knob.settings {
            progress(done, total, &format!("{} = {}", knob.name, setting.label));
            done += 1;
            rows.push(row(sweep, setting));
        }
        out.push((knob.name, rows));
    }
    out
}

fn row(sweep: &Sweep, setting: &Setting) -> Row {
    let mut simulated_requests = 0;
    let figures = (sweep.scenarios.iter())
        .map(|&scenario| {
            let configs: Vec<Config> = (sweep.seeds.iter())
                .map(|&seed| {
                    let policy = Policy::Edge(setting.params.clone());
                    let mut config = scenario.config(sweep.fleet, policy, sweep.load, seed);
                    config.stat_params = setting.stats.clone();
                    config
                })
                .collect();
            let reports = crate::run_all(&configs);
            simulated_requests += reports.iter().map(|r| r.simulated_requests).sum::<u64>();
            let n = reports.len().max(1) as f64;
            let p99 = reports.iter().map(|r| r.latency.p99).sum::<f64>() / n;
            (Report::pooled_error_rate(&reports), p99)
        })
        .collect();
    Row {
        label: setting.label.clone(),
        default: setting.default,
        figures,
        simulated_requests,
    }
}

/// The sweeps as Markdown: one table per tunable, a row per value, errors % (p99 ms) per
/// scenario; the default in bold.
pub fn markdown(sweep: &Sweep, results: &[(&'static str, Vec<Row>)]) -> String {
    let mut out = format!(
        "# Sweeps of `edge`'s tunables ({} fleet, load {})\n\n\
         Each tunable varied alone, the others at their defaults; load-related errors % \
         (p99 ms), the mean of {} seeds. The default is in bold.\n",
        sweep.fleet.name(),
        sweep.load,
        sweep.seeds.len()
    );
    let names: Vec<&str> = sweep.scenarios.iter().map(|s| s.name()).collect();
    for (knob, rows) in results {
        let _ = writeln!(out, "\n## {knob}\n\n| value | {} |", names.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(names.len()));
        for row in rows {
            let cells: Vec<String> = (row.figures.iter())
                .map(|(e, p99)| format!("{:.2} ({:.1})", e * 100.0, p99 * 1000.0))
                .collect();
            let label = if row.default {
                format!("**{}**", row.label)
            } else {
                row.label.clone()
            };
            let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_tries_the_default_and_something_else() {
        for knob in knobs() {
            let defaults = knob.settings.iter().filter(|s| s.default).count();
            assert_eq!(defaults, 1, "{}", knob.name);
            assert!(knob.settings.len() >= 2, "{}", knob.name);
        }
    }

    #[test]
    fn a_sweep_reports_each_setting_in_each_scenario() {
        let sweep = Sweep {
            fleet: Fleet::Small,
            scenarios: vec![Scenario::Sinkhole],
            load: 0.7,
            seeds: vec![1],
        };
        let knobs: Vec<Knob> = knobs().into_iter().take(1).collect();
        let results = run(&sweep, &knobs, |_, _, _| {});
        let rows = &results[0].1;
        assert_eq!(rows.len(), knobs[0].settings.len());
        // The error score's weight matters in a sinkhole: the slowest to learn errs most.
        let errors: Vec<f64> = rows.iter().map(|r| r.figures[0].0).collect();
        assert!(errors[0] > errors[errors.len() - 1], "{errors:?}");
        let md = markdown(&sweep, &results);
        let default = format!("| **{}** |", StatParams::default().error_alpha);
        assert!(md.contains(&default), "{md}");
    }
}
