//! The command line: clap definitions, and their conversion into a validated [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::client::KubeconfigChoice;
use crate::reflector::ReflectorConfig;
use crate::source::SourceOptions;
use crate::{Cluster, Config};

/// Exit codes, as documented in `--help`.
const EXIT_CODES: &str = "\
Exit status:
  0  stopped by Ctrl-C/SIGTERM, --once done, or stdout closed by its reader
  1  the run cannot go on (no kubeconfig, forbidden, server unreachable with --once, ...)
  2  usage error";

/// kreflect mirrors a cluster's objects into a local cache and prints the cache's keys.
#[derive(Debug, Parser)]
#[command(name = "kreflect", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// More logs on stderr: -v debug (every event), -vv trace. RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mirror Pods and print the cache's keys (namespace/name, sorted, one per line, then an
    /// empty line) every interval until Ctrl-C.
    #[command(after_help = EXIT_CODES)]
    Pods(PodsArgs),
}

#[derive(Debug, Args)]
struct PodsArgs {
    /// Only this namespace (default: all namespaces).
    #[arg(short, long, value_name = "NS")]
    namespace: Option<String>,
    /// All namespaces (the default; accepted for kubectl habits).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    all_namespaces: bool,
    /// Time between listings: 500ms, 5s, 1m, or a number of seconds.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_interval)]
    interval: Duration,
    /// Print one listing after the initial sync, then exit.
    #[arg(long)]
    once: bool,
    /// Path to the kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH", conflicts_with = "sim")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME", conflicts_with = "sim")]
    context: Option<String>,
    /// Watch an embedded simulated cluster instead of a real one.
    #[arg(long)]
    sim: bool,
    /// Ask the server for metadata only (PartialObjectMetadata): much less to transfer and cache.
    #[arg(long)]
    metadata_only: bool,
    /// Get the initial state with a streaming list (sendInitialEvents), falling back to the paged
    /// list when the server does not support it.
    #[arg(long)]
    streaming_list: bool,
}

impl Cli {
    /// The validated configuration of this command line.
    pub fn into_config(self) -> Config {
        let Command::Pods(args) = self.command;
        let cluster = if args.sim {
            Cluster::Simulated
        } else {
            Cluster::Kubeconfig(KubeconfigChoice {
                path: args.kubeconfig,
                context: args.context,
            })
        };
        Config {
            cluster,
            namespace: args.namespace.filter(|_| !args.all_namespaces),
            interval: args.interval,
            once: args.once,
            source: SourceOptions {
                metadata_only: args.metadata_only,
            },
            reflector: ReflectorConfig {
                streaming_list: args.streaming_list,
                ..ReflectorConfig::default()
            },
        }
    }
}

/// Parses `500ms`, `5s`, `1m`, `1m30s` or a bare number of seconds; zero is refused.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Duration::from_secs_f64(seconds),
        Ok(_) => return Err(format!("{text:?} is not a positive duration")),
        Err(_) => humantime::parse_duration(text)
            .map_err(|err| format!("{text:?} is not a duration like 500ms, 5s or 1m ({err})"))?,
    };
    if duration.is_zero() {
        return Err("the interval must be greater than zero".to_owned());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(args).map(Cli::into_config)
    }

    #[test]
    fn intervals_accept_units_and_bare_seconds() {
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_interval("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_interval("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "0s", "garbage", "-1", "", "NaN"] {
            assert!(parse_interval(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn defaults_are_all_namespaces_every_30s_from_the_kubeconfig() {
        let config = parse(&["kreflect", "pods"]).expect("valid");
        assert_eq!(config.namespace, None);
        assert_eq!(config.interval, Duration::from_secs(30));
        assert!(!config.once);
        assert!(!config.source.metadata_only);
        assert!(!config.reflector.streaming_list);
        assert_eq!(
            config.cluster,
            Cluster::Kubeconfig(KubeconfigChoice::default())
        );
    }

    #[test]
    fn flags_map_onto_the_config() {
        let config = parse(&[
            "kreflect",
            "pods",
            "-n",
            "shop",
            "--interval",
            "5s",
            "--once",
            "--kubeconfig",
            "/tmp/kc",
            "--context",
            "prod",
            "-vv",
            "--metadata-only",
            "--streaming-list",
        ])
        .expect("valid");
        assert!(config.source.metadata_only);
        assert!(config.reflector.streaming_list);
        assert_eq!(config.namespace.as_deref(), Some("shop"));
        assert_eq!(config.interval, Duration::from_secs(5));
        assert!(config.once);
        assert_eq!(
            config.cluster,
            Cluster::Kubeconfig(KubeconfigChoice {
                path: Some("/tmp/kc".into()),
                context: Some("prod".into()),
            })
        );
        assert_eq!(
            parse(&["kreflect", "pods", "--sim"]).expect("sim").cluster,
            Cluster::Simulated
        );
        assert_eq!(
            parse(&["kreflect", "pods", "-A"]).expect("-A").namespace,
            None
        );
    }

    #[test]
    fn usage_errors_are_refused() {
        for args in [
            &["kreflect", "pods", "-n", "a", "-A"][..],
            &["kreflect", "pods", "--interval", "0"],
            &["kreflect", "pods", "--interval", "soon"],
            &["kreflect", "pods", "--sim", "--kubeconfig", "x"],
            &["kreflect"],
        ] {
            let err = parse(args).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn verbosity_counts() {
        let cli = Cli::try_parse_from(["kreflect", "pods", "-vv"]).expect("valid");
        assert_eq!(cli.verbose, 2);
    }
}
