//! Same seed and inputs give byte-identical reports; the concurrency limit answers 503s at the
//! rate loss-system theory predicts.

use std::time::Duration;
use switchyard_balance::{EdgeParams, Policy};
use switchyard_sim::{Config, Report, ServerSpec, ServiceTime, run};

const MS: Duration = Duration::from_millis(1);

/// Everything at once: several balancers, `edge`, log-normal service, mixed speeds and workers,
/// concurrency limits, network delay.
fn busy_fleet(seed: u64) -> Config {
    let service = ServiceTime::LogNormal {
        mean: MS * 10,
        sigma: 1.0,
    };
    let mut config = Config::identical(12, service, 0.9, Policy::Edge(EdgeParams::default()));
    for (i, server) in config.servers.iter_mut().enumerate() {
        *server = ServerSpec {
            workers: 1 + (i % 3) as u32,
            speed: [1.0, 1.0, 0.6, 0.4][i % 4],
            limit: Some(4),
        };
    }
    config.balancers = 5;
    config.network_delay = MS;
    config.warmup = Duration::from_millis(200);
    config.duration = Duration::from_secs(3);
    config.seed = seed;
    config
}

#[test]
fn same_seed_same_bytes() {
    let (a, b) = (run(&busy_fleet(9)), run(&busy_fleet(9)));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(a.to_csv(), b.to_csv());
    assert!(a.overloaded > 0 && a.successes > 1000, "{a:?}");
    assert!((a.share.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let c = run(&busy_fleet(10));
    assert_ne!(a.to_csv(), c.to_csv(), "the seed matters");
}

/// Random balancing over servers with a limit: each is an M/M/c/K loss system.
fn blocking(workers: u32, limit: u32, load: f64) -> Report {
    let service = ServiceTime::Exponential { mean: MS * 10 };
    let mut config = Config::identical(20, service, load, Policy::Random);
    config.servers = vec![
        ServerSpec {
            workers,
            speed: 1.0,
            limit: Some(limit),
        };
        20
    ];
    config.warmup = MS * 100;
    config.duration = Duration::from_secs(20);
    run(&config)
}

#[test]
fn concurrency_limits_answer_503_at_the_theoretical_rate() {
    // M/M/1/1: rho / (1 + rho). M/M/2/2 (Erlang B, offered 2 rho): a^2/2 / (1 + a + a^2/2).
    // M/M/1/3: rho^3 (1 - rho) / (1 - rho^4). About 36 000 requests each: 1 % is ~3 sigma.
    let rho: f64 = 0.9;
    let a = 2.0 * rho;
    let cases = [
        (1, 1, rho / (1.0 + rho)),
        (2, 2, a * a / 2.0 / (1.0 + a + a * a / 2.0)),
        (1, 3, rho.powi(3) * (1.0 - rho) / (1.0 - rho.powi(4))),
    ];
    for (workers, limit, expected) in cases {
        let report = blocking(workers, limit, rho);
        let got = report.error_rate;
        eprintln!("{workers}/{limit}: {got:.4} vs {expected:.4}");
        assert_eq!(report.overloaded + report.successes, report.requests);
        assert!(
            (got - expected).abs() < 0.01,
            "{workers}/{limit}: {got} vs {expected}"
        );
    }
}
