//! The command line: clap definitions, and their conversion into a validated [`Config`] (or the
//! completions request).

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::api::deadline::RequestDeadline;
use crate::api::kube_source::{Selectors, SourceOptions, Wire};
use crate::cache::reflector::ReflectorConfig;
use crate::cache::store::ChangeType;
use crate::cli::config::{ClusterChoice, Config, Contexts, Mode, StateOptions};
use crate::cli::kubectl_flags::KubectlFlags;
use crate::cli::listen::parse_listen_address;
use crate::cli::selection::Selection;
use crate::connect::client::{ClientOptions, KubeconfigChoice};
use crate::connect::compression::Compression;
use crate::output::exec::ExecPlan;
use crate::output::render::{EventFilter, ListingFormat, OutputFormat, TemplateListing};
use crate::output::template::{Headers, Template};
use crate::output::wait::{WaitFor, WaitPlan};

/// The shortest `--interval`.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// The longest `--interval`: 7 days.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Shortens the window of the list body's minimum rate ([`RequestDeadline::MinRate`], a minute
/// by default), at the same rate, for the binary tests (`tests/it/server_answers.rs`): a trickling
/// list is then given up in seconds, not a minute. A duration as `--interval` takes it
/// (`2s`). A test knob, not a user setting: `--request-timeout`, when added, will be one.
pub const LIST_RATE_WINDOW_VAR: &str = "KREFLECT_LIST_RATE_WINDOW";

/// What `--help` ends with: examples, as kubectl's help has, with `name` as the command run
/// (`kreflect`, or `kubectl reflect` as a plugin), then the exit codes.
fn help_footer(name: &str) -> String {
    format!(
        "\
Examples:
  # The keys of every pod in the cluster, every 30 s, until Ctrl-C
  {name} pods

  # One namespace, every 5 s; two namespaces as one listing
  {name} pods -n shop --interval 5s
  {name} pods -n shop,web

  # One listing, then exit (a listing ends with an empty line: grep -c . counts the keys)
  {name} pods --once | grep -c .

  # Fields as kubectl prints them
  {name} pods --once -o jsonpath='{{.metadata.name}}{{\"\\t\"}}{{.status.phase}}{{\"\\n\"}}'
  {name} pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName

  # Any resource, named as kubectl names it
  {name} nodes --once
  {name} deployments.apps -o wide

  # Objects by name; several kinds at once, keys prefixed by kind (pod/shop/web-1)
  {name} pods web-1 web-2 -n shop
  {name} pods,deploy --once
  {name} all -n shop

  # Several clusters in one stream, keys prefixed by context (prod/shop/web-1)
  {name} pods --context prod,staging --once
  {name} pods --all-contexts -n shop

  # Each change as it is applied; the embedded simulated cluster
  {name} pods --events
  {name} pods --sim --interval 2s

  # A command per change, one at a time: the object as JSON on stdin, the change in
  # $KREFLECT_TYPE, $KREFLECT_KEY...; or per listing that changed, the listing on stdin
  {name} pods --events --exec 'echo \"$KREFLECT_TYPE $KREFLECT_KEY\"; jq -r .status.phase'
  {name} pods -n shop --interval 10s --exec 'cat > pods.txt'

{EXIT_CODES}"
    )
}

/// Exit codes, as documented in `--help`.
const EXIT_CODES: &str = "\
Exit status:
  0  stopped by Ctrl-C/SIGTERM/SIGHUP, --once done, or stdout closed by its reader
  1  the run cannot go on (no kubeconfig, forbidden, server unreachable or too slow with
     --once, ...), or --once printed its listing without an object it named, or its --exec
     command failed, or (several contexts) could not list a context
  2  usage error, or a RESOURCE the server does not serve
  129, 130, 143  --once stopped by SIGHUP, Ctrl-C (SIGINT) or SIGTERM before its listing was
     printed";

/// kreflect mirrors a cluster's objects into a local cache and prints the cache's keys
/// (namespace/name, sorted, one per line, then an empty line) every interval until Ctrl-C.
#[derive(Debug, Parser)]
#[command(
    name = "kreflect",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// More logs on stderr: -v debug (every event), -vv trace. RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    watch: WatchArgs,
    /// The name it was run under, for help and usage errors.
    #[arg(skip)]
    invoked_as: InvokedAs,
}

/// The name kreflect was run under (`argv[0]`'s file name), which help and usage errors show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InvokedAs {
    /// `kreflect`, or any name but the plugin's.
    #[default]
    Kreflect,
    /// `kubectl-reflect`: kubectl runs it for `kubectl reflect ...` (with the executable's full
    /// path as `argv[0]`).
    KubectlPlugin,
}

impl InvokedAs {
    /// From `argv[0]`: only its file name counts.
    pub fn from_argv0(argv0: Option<&OsStr>) -> Self {
        match argv0.map(Path::new).and_then(Path::file_name) {
            Some(name) if name == "kubectl-reflect" => InvokedAs::KubectlPlugin,
            _ => InvokedAs::Kreflect,
        }
    }

    /// The command as the user types it.
    pub fn command_name(self) -> &'static str {
        match self {
            InvokedAs::Kreflect => "kreflect",
            InvokedAs::KubectlPlugin => "kubectl reflect",
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a shell completion script (e.g. `kreflect completions bash > ~/.kreflect.bash`).
    Completions {
        /// The shell.
        shell: Shell,
    },
}

#[derive(Debug, Args)]
struct WatchArgs {
    /// What to mirror, as kubectl get takes it: a resource (pods, nodes, deploy,
    /// deployments.apps, a custom resource...), several (pods,deploy) or a category (all),
    /// then object names (pods web-1 web-2); or TYPE/NAME pairs (pod/web-1 deploy/d1).
    #[arg(value_name = "RESOURCE", required = true, num_args = 1..)]
    resource: Vec<String>,
    /// Only these namespaces: -n shop, or several as -n shop,web or -n shop -n web, one merged
    /// listing (default: all namespaces, as client-go's reflector, even when the kubeconfig
    /// context names one; an empty NS is refused, use -A).
    #[arg(short, long, value_name = "NS", value_delimiter = ',', action = ArgAction::Append)]
    namespace: Vec<String>,
    /// All namespaces (the default; accepted for kubectl habits).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    all_namespaces: bool,
    /// Only objects with these labels, e.g. `app=web,tier in (front,back),!canary`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Only objects with these fields, e.g. `status.phase=Running,spec.nodeName=node-1`.
    #[arg(long, value_name = "SELECTOR")]
    field_selector: Option<String>,
    /// Time between listings: 500ms, 5s, 1m, or a number of seconds; from 1ms to 7 days.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_interval)]
    interval: Duration,
    /// Print one listing after the initial sync, then exit.
    #[arg(long)]
    once: bool,
    /// Listing format: keys, json, wide; or kubectl's name, jsonpath=, custom-columns=.
    ///
    /// kubectl's formats print as kubectl prints them: jsonpath=TEMPLATE applies to each object
    /// in key order (to the listing as a List when it addresses .items), custom-columns=SPEC is
    /// one aligned table, name is kind/name.
    #[arg(short, long, value_name = "FORMAT", default_value = "keys", value_parser = OutputParser)]
    output: String,
    /// With -o custom-columns, no header line.
    #[arg(long)]
    no_headers: bool,
    /// With -o jsonpath, print nothing for a key an object lacks (true, kubectl's default), or
    /// fail the run (false).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", action = ArgAction::Set, hide_short_help = true)]
    allow_missing_template_keys: bool,
    /// Print each change as it is applied (ADDED/MODIFIED/DELETED key) instead of listings.
    #[arg(long, conflicts_with_all = ["once", "diff"])]
    events: bool,
    /// With --events and -o json or a template, each object with its event type, as kubectl's
    /// --output-watch-events: {"type":...,"object":{...}}.
    #[arg(long, requires = "events")]
    output_watch_events: bool,
    /// With --events, only these changes: ADDED, MODIFIED, DELETED (comma-separated).
    #[arg(long, value_name = "TYPES", value_delimiter = ',', value_parser = parse_event_type,
          requires = "events")]
    event_types: Vec<ChangeType>,
    /// With --events, nothing for the objects that exist at the start (the initial list), as
    /// kubectl's --watch-only; only the changes after it.
    #[arg(long, requires = "events")]
    watch_only: bool,
    /// With --events and a template, also a MODIFIED that prints the same line as the object's
    /// last one (by default it is left out: a template of a few fields ignores status updates).
    #[arg(long, requires = "events")]
    print_unchanged: bool,
    /// Each interval, print only +key / -key lines for what changed since the last listing.
    #[arg(long)]
    diff: bool,
    /// Wait until every object selected meets CONDITION, printing "pod/web-1 condition met" for
    /// each, then exit 0, as kubectl wait: delete, condition=NAME[=VALUE] or
    /// jsonpath='{expr}'[=VALUE]; several --for: any of them.
    #[arg(long = "for", value_name = "CONDITION", value_parser = WaitFor::parse,
          conflicts_with_all = ["events", "diff", "once"])]
    wait_for: Vec<WaitFor>,
    /// Keep what the run knew in FILE for the next run: that run resumes its watch from it (no
    /// list while the server still has its resourceVersion), and its --diff or --events shows
    /// what changed since, modifications included (~key with --diff).
    #[arg(long, value_name = "FILE", conflicts_with = "wait_for")]
    state: Option<PathBuf>,
    /// With --for, how long to wait (default 30s, as kubectl wait): 0 checks once, a negative
    /// one waits a week; then exit 1 naming an object not met.
    #[arg(long, value_name = "D", value_parser = parse_timeout, requires = "wait_for")]
    timeout: Option<Duration>,
    /// Run CMD with /bin/sh -c instead of printing: with --events, once per change (the object
    /// as JSON on stdin); else once per listing that changed, or --diff that is not empty (the
    /// listing on stdin). One at a time, in order.
    ///
    /// The change is in the environment: KREFLECT_TYPE (ADDED, MODIFIED, DELETED; LISTING or
    /// DIFF for a listing), KREFLECT_KEY, KREFLECT_NAMESPACE, KREFLECT_NAME, KREFLECT_KIND,
    /// KREFLECT_RESOURCE_VERSION, KREFLECT_CONTEXT (with several contexts). The command's stdout and stderr are kreflect's; kreflect prints
    /// nothing itself. Changes that come while a command runs wait, one per key, the latest
    /// state kept: a command may miss intermediate states, never the last one, nor the deletion
    /// of an object it was told of. A failed run is logged with its key and counted; the run
    /// goes on (with --once, exit 1).
    #[arg(long, value_name = "CMD", conflicts_with = "wait_for")]
    exec: Option<String>,
    /// With --exec, stop a command running longer than D (SIGTERM to its process group, then
    /// SIGKILL 5s later), logged and counted as a failure (default: no limit).
    #[arg(long, value_name = "D", value_parser = parse_interval, requires = "exec")]
    exec_timeout: Option<Duration>,
    /// Serve Prometheus metrics on /metrics, liveness on /livez and readiness on /readyz (and
    /// /healthz) at this address: IP:PORT, HOST:PORT, or :PORT for every IPv4 interface.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_address)]
    metrics_addr: Option<SocketAddr>,
    /// Path to the kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH", conflicts_with = "sim")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context); its namespace is not
    /// applied: without -n, all namespaces are watched. Several (--context a,b, or repeated):
    /// one stream, each key prefixed by its context (prod/shop/web-1).
    #[arg(long, value_name = "NAME", value_delimiter = ',', action = ArgAction::Append,
          conflicts_with = "sim")]
    context: Vec<String>,
    /// Every context of the kubeconfig, each key prefixed by its context, as with
    /// --context a,b.
    #[arg(long, conflicts_with_all = ["sim", "context"])]
    all_contexts: bool,
    /// Never ask the server to gzip responses: the same as --compression never.
    #[arg(long, conflicts_with = "compression")]
    disable_compression: bool,
    /// When to ask the server to gzip responses (auto: only where it pays).
    ///
    /// auto does not ask a server on loopback, on a private network or in-cluster, and asks a
    /// public one or one behind a proxy; it never asks if the kubeconfig cluster sets
    /// disable-compression. always and never win over the kubeconfig.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    compression: Compression,
    /// Watch an embedded simulated cluster instead of a real one.
    #[arg(long)]
    sim: bool,
    /// Ask the server for metadata only (PartialObjectMetadata): much less to transfer and cache.
    #[arg(long)]
    metadata_only: bool,
    /// Accepted for the scripts written when streaming lists had to be asked for: they are the
    /// default now, where the server serves them. It does nothing but say so.
    #[arg(long, hide = true)]
    streaming_list: bool,
    /// Least time between two checks for an etcd restore (the server's state gone back in time).
    ///
    /// After a watch that heard nothing, a one-object list's resourceVersion is compared with the
    /// cache's; lower means relist. A restore is noticed within this plus a minute.
    #[arg(long, value_name = "D", default_value = "2m", value_parser = parse_interval)]
    restore_check_every: Duration,
    /// Also relist in full this often, counting what the cache had wrong (off by default).
    ///
    /// The count is kreflect_resync_differences_total, with a warning: 0 is expected; anything
    /// else is a bug or a restore. Each resync is a full read of the collection.
    #[arg(long, value_name = "D", value_parser = parse_interval)]
    resync_every: Option<Duration>,
    /// The encoding asked of the server: auto = protobuf for built-in kinds (a third of JSON's
    /// bytes, less than half its API-server CPU) and JSON for custom resources, as client-go.
    #[arg(long, value_enum, value_name = "ENCODING", default_value = "auto")]
    wire: Wire,
    #[command(flatten)]
    kubectl: KubectlFlags,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Mirror a resource.
    Watch(Box<Config>),
    /// Print a completion script for this shell.
    Completions(Shell),
}

impl Cli {
    /// Parses the process's arguments, naming the command in help and usage errors as it was
    /// run: `kubectl reflect` when run as the kubectl plugin `kubectl-reflect`.
    pub fn try_parse_args() -> Result<Cli, clap::Error> {
        Cli::try_parse_args_from(std::env::args_os())
    }

    /// [`Cli::try_parse_args`] for these arguments (`argv[0]` first).
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let invoked_as = InvokedAs::from_argv0(args.first().map(OsString::as_os_str));
        let mut command = Cli::command()
            .bin_name(invoked_as.command_name())
            .after_help(help_footer(invoked_as.command_name()));
        let matches = command.try_get_matches_from_mut(args)?;
        let cli = Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))?;
        Ok(Cli { invoked_as, ..cli })
    }

    /// The validated request of this command line; a usage error otherwise (exit 2).
    pub fn into_invocation(self) -> Result<Invocation, clap::Error> {
        if let Some(Command::Completions { shell }) = self.command {
            return Ok(Invocation::Completions(shell));
        }
        let args = self.watch;
        let usage = |message: &str| {
            Cli::command()
                .bin_name(self.invoked_as.command_name())
                .error(ErrorKind::ArgumentConflict, message)
        };
        let format = listing_format(
            &args.output,
            args.no_headers,
            args.allow_missing_template_keys,
        )
        .map_err(|message| usage(&message))?;
        if args.diff && !format.is_keys() {
            return Err(usage(
                "--diff prints +key/-key lines and cannot be combined with -o json, wide or a \
                 template",
            ));
        }
        if args.events && matches!(format, ListingFormat::Own(OutputFormat::Wide)) {
            return Err(usage(
                "--events prints one line per change and cannot be combined with -o wide",
            ));
        }
        let wide = matches!(format, ListingFormat::Own(OutputFormat::Wide));
        let json_objects =
            args.output_watch_events && matches!(format, ListingFormat::Own(OutputFormat::Json));
        // A template (or an event's whole object, or a condition of --for) reads the objects'
        // fields: JSON, which every kind can be kept as.
        let reads_conditions = args
            .wait_for
            .iter()
            .any(|condition| !matches!(condition, WaitFor::Delete));
        refuse_what_exec_cannot_mean(&args, &format).map_err(|message| usage(&message))?;
        // The --exec command gets each change's object on stdin.
        let exec_reads_objects = args.exec.is_some() && args.events;
        let wire = match (
            args.wire,
            format.reads_objects() || json_objects || reads_conditions || exec_reads_objects,
        ) {
            (Wire::Protobuf, true) => {
                return Err(usage(
                    "-o name, jsonpath and custom-columns, --for conditions and --events --exec \
                     read the objects as JSON and cannot be combined with --wire protobuf",
                ));
            }
            (_, true) => Wire::Json,
            (wire, false) => wire,
        };
        refuse_empty_values(&args).map_err(|message| usage(&message))?;
        if args.streaming_list {
            tracing::warn!(
                "--streaming-list does nothing: streaming lists are the default where the server \
                 serves them; drop the flag, it will be removed"
            );
        }
        refuse_event_flags_without_events(&args).map_err(|message| usage(&message))?;
        // clap lets a flag's `requires` pass when the flag it requires conflicts with one given
        // (`--timeout` next to `--exec`, which conflicts with `--for`): said here.
        if args.timeout.is_some() && args.wait_for.is_empty() {
            return Err(usage(
                "--timeout bounds the wait of --for; to bound an --exec command, use \
                 --exec-timeout",
            ));
        }
        if args.exec_timeout.is_some() && args.exec.is_none() {
            return Err(usage(
                "--exec-timeout needs --exec (it bounds each command)",
            ));
        }
        if args
            .wait_for
            .iter()
            .any(|condition| matches!(condition, WaitFor::Delete))
            && (args.selector.is_some() || args.field_selector.is_some())
        {
            return Err(usage(
                "--for=delete cannot be combined with -l or --field-selector: the watch tells an \
                 object that left the selection as it tells a deleted one; name the objects",
            ));
        }
        let deadline = match args.kubectl.request_deadline() {
            Some(deadline) => deadline,
            None => list_deadline().map_err(|message| usage(&message))?,
        };
        let overrides = args
            .kubectl
            .overrides()
            .map_err(|message| usage(&message))?;
        let selection = Selection::parse(&args.resource).map_err(|message| usage(&message))?;
        // `--context a,a` (a script's `--context $A,$B` with A = B) asks for several: keys stay
        // prefixed, whatever the names.
        let several_contexts = args.all_contexts || args.context.len() > 1;
        let mut contexts = args.context.clone();
        let mut seen = std::collections::HashSet::new();
        contexts.retain(|context| seen.insert(context.clone()));
        if several_contexts {
            refuse_what_several_contexts_cannot_mean(&args).map_err(|message| usage(&message))?;
        }
        let base = KubeconfigChoice {
            path: args.kubeconfig.clone(),
            context: None,
            overrides: Box::new(overrides),
        };
        let cluster = if args.sim {
            ClusterChoice::Sim
        } else if several_contexts {
            ClusterChoice::Contexts(Contexts {
                base,
                names: (!args.all_contexts).then_some(contexts),
            })
        } else {
            ClusterChoice::Kubeconfig(KubeconfigChoice {
                context: contexts.pop(),
                ..base
            })
        };
        let mode = match (args.events, args.diff, args.wait_for.is_empty()) {
            (true, _, _) => Mode::Events,
            (false, true, _) => Mode::Diff,
            (false, false, false) => Mode::Wait,
            (false, false, true) => Mode::Listings,
        };
        let wait = (!args.wait_for.is_empty()).then(|| WaitPlan {
            conditions: args.wait_for.clone(),
            timeout: args.timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT),
        });
        Ok(Invocation::Watch(Box::new(Config {
            selection,
            cluster,
            client: ClientOptions {
                compression: if args.disable_compression {
                    Compression::Never
                } else {
                    args.compression
                },
                ..ClientOptions::default()
            },
            // -A conflicts with -n: without -n, every namespace.
            namespaces: namespaces_of(args.namespace),
            // An empty selector selects everything, as with kubectl: the same as none.
            selectors: Selectors {
                label: args.selector.filter(|selector| !selector.is_empty()),
                field: args.field_selector.filter(|selector| !selector.is_empty()),
            },
            interval: args.interval,
            once: args.once,
            format,
            mode,
            output_watch_events: args.output_watch_events,
            wait,
            event_filter: EventFilter {
                only: (!args.event_types.is_empty()).then_some(args.event_types),
                print_unchanged: args.print_unchanged,
                watch_only: args.watch_only,
            },
            exec: args.exec.map(|command| ExecPlan {
                command,
                timeout: args.exec_timeout,
            }),
            metrics_addr: args.metrics_addr,
            source: SourceOptions {
                metadata_only: args.metadata_only,
                // Server-side Tables only for the table: no cost for scripts.
                table: wide,
                wire,
                deadline,
            },
            reflector: ReflectorConfig {
                restore_check_interval: args.restore_check_every,
                resync_every: args.resync_every,
                ..ReflectorConfig::default()
            },
            state: args.state.map(|path| StateOptions {
                path,
                digests_of: if args.output_watch_events {
                    format!("{} --output-watch-events", args.output)
                } else {
                    args.output.clone()
                },
            }),
        })))
    }
}

/// A `--event-types` value: a watch event's type, in any case.
fn parse_event_type(text: &str) -> Result<ChangeType, String> {
    [ChangeType::Added, ChangeType::Modified, ChangeType::Deleted]
        .into_iter()
        .find(|change_type| change_type.as_str().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| format!("{text:?} is not ADDED, MODIFIED or DELETED"))
}

/// `-o`'s value as a listing format: one of kreflect's (`keys`, `json`, `wide`), or a kubectl
/// template with `--no-headers` and `--allow-missing-template-keys`; the template's error
/// (kubectl's words) otherwise.
fn listing_format(
    value: &str,
    no_headers: bool,
    allow_missing_keys: bool,
) -> Result<ListingFormat, String> {
    if let Ok(own) = OutputFormat::from_str(value, false) {
        return Ok(ListingFormat::Own(own));
    }
    let template = Template::parse(value).map_err(|err| err.to_string())?;
    Ok(ListingFormat::Template(TemplateListing {
        template: Arc::new(template.allow_missing_keys(allow_missing_keys)),
        headers: if no_headers {
            Headers::Omit
        } else {
            Headers::Print
        },
    }))
}

/// `-o`'s parser: any UTF-8 value (checked in [`Cli::into_invocation`], a template being free
/// text), with kreflect's formats and kubectl's template names offered for completion and help.
#[derive(Clone)]
struct OutputParser;

impl TypedValueParser for OutputParser {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        value
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(command))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let own = OutputFormat::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value);
        let kubectl = [
            PossibleValue::new("name").help("kind/name of each object, as kubectl -o name"),
            PossibleValue::new("jsonpath=").help("jsonpath=TEMPLATE, as kubectl -o jsonpath"),
            PossibleValue::new("custom-columns=")
                .help("custom-columns=NAME:.path,..., as kubectl -o custom-columns"),
        ];
        Some(Box::new(own.chain(kubectl)))
    }
}

/// Refuses empty values that would silently mean something else: `-n ''` would mean all
/// namespaces, `--context ''` the current context, and an empty RESOURCE nothing at all. (kubectl
/// takes the first two as "not given"; a script passing an unset variable should fail instead of
/// watching more, or another cluster, than it meant.) `--kubeconfig ''` is refused by clap's
/// path parser already. Empty selectors are accepted: they select everything, as no selector
/// does.
fn refuse_empty_values(args: &WatchArgs) -> Result<(), String> {
    if args.resource.first().is_some_and(String::is_empty) {
        return Err("RESOURCE is empty; name one, e.g. pods".to_owned());
    }
    if args.namespace.iter().any(String::is_empty) {
        return Err("-n/--namespace is empty; name a namespace, or use -A for all".to_owned());
    }
    if let Some(namespace) = args
        .namespace
        .iter()
        .find(|namespace| !is_dns1123_label(namespace))
    {
        // It goes into the request path: `a/b` or `a?x=y` would ask for something else (a 404
        // blamed on the resource, or a Namespace object where a list was expected).
        return Err(format!(
            "-n/--namespace {namespace:?} is not a namespace name (at most 63 lowercase letters, \
             digits and '-', starting and ending with a letter or digit)"
        ));
    }
    if args
        .exec
        .as_deref()
        .is_some_and(|command| command.trim().is_empty())
    {
        return Err("--exec is empty; name a command, e.g. --exec 'cat >> changes.log'".to_owned());
    }
    if args.context.iter().any(String::is_empty) {
        return Err("--context is empty; name a context, or omit --context \
                    for the kubeconfig's current context"
            .to_owned());
    }
    Ok(())
}

/// Refuses what several contexts cannot mean (yet): `--state` keeps one server's
/// resourceVersions, and `--for` waits for objects named without a context.
fn refuse_what_several_contexts_cannot_mean(args: &WatchArgs) -> Result<(), String> {
    if args.state.is_some() {
        return Err(
            "--state keeps one cluster's state; run one kreflect per context with a \
                    state file each"
                .to_owned(),
        );
    }
    if !args.wait_for.is_empty() {
        return Err("--for waits in one cluster; run one kreflect per context".to_owned());
    }
    Ok(())
}

/// Refuses what `--exec` cannot mean: it prints nothing, so with `--events` (the command gets
/// each object as JSON) `-o` and `--output-watch-events` would shape nothing; and a `-o wide`
/// listing, a table for people, changes every time (its AGE column) and would run the command
/// at every interval.
fn refuse_what_exec_cannot_mean(args: &WatchArgs, format: &ListingFormat) -> Result<(), String> {
    if args.exec.is_none() {
        return Ok(());
    }
    if args.events && (!format.is_keys() || args.output_watch_events) {
        return Err(
            "--events --exec gives the command each object as JSON on stdin; -o and \
             --output-watch-events shape printed lines and cannot be combined with it"
                .to_owned(),
        );
    }
    if matches!(format, ListingFormat::Own(OutputFormat::Wide)) {
        return Err(
            "--exec cannot be combined with -o wide, a table for people (its AGE column changes \
             every listing); use -o json or a template"
                .to_owned(),
        );
    }
    Ok(())
}

/// `--timeout`'s default, as kubectl wait's.
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Parses `--timeout` as kubectl wait takes it: 0 checks once, a negative duration waits a week,
/// anything else is an interval ([`parse_interval`]).
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let magnitude = text.strip_prefix('-').unwrap_or(text);
    if magnitude
        .trim_end_matches(['s', 'm', 'h'])
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        return Ok(Duration::ZERO);
    }
    if text.starts_with('-') {
        return Ok(MAX_INTERVAL);
    }
    parse_interval(text)
}

/// The namespaces of `-n`, each once, sorted: the order their keys are listed in.
fn namespaces_of(mut given: Vec<String>) -> Vec<String> {
    given.sort_unstable();
    given.dedup();
    given
}

/// Refuses the flags that shape `--events` without it: clap's `requires` lets them through
/// next to `--once`, which conflicts with `--events`, and a script's `--event-types added` would
/// then get listings as if it had asked for them.
fn refuse_event_flags_without_events(args: &WatchArgs) -> Result<(), String> {
    if args.events {
        return Ok(());
    }
    let given = [
        ("--output-watch-events", args.output_watch_events),
        ("--event-types", !args.event_types.is_empty()),
        ("--watch-only", args.watch_only),
        ("--print-unchanged", args.print_unchanged),
    ];
    match given.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(format!(
            "{flag} needs --events (it shapes the changes it prints)"
        )),
        None => Ok(()),
    }
}

/// The deadline of list pages and discovery: kreflect's minimum rate, over the window
/// [`LIST_RATE_WINDOW_VAR`] sets, if set.
fn list_deadline() -> Result<RequestDeadline, String> {
    match std::env::var(LIST_RATE_WINDOW_VAR) {
        Err(_) => Ok(RequestDeadline::default()),
        Ok(text) => parse_interval(&text)
            .map(RequestDeadline::min_rate_over)
            .map_err(|err| format!("{LIST_RATE_WINDOW_VAR}: {err}")),
    }
}

/// Whether `name` can name a namespace: an RFC 1123 label, as the API server requires.
fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(alphanumeric)
        && bytes.last().is_some_and(alphanumeric)
        && bytes.iter().all(|b| alphanumeric(b) || *b == b'-')
}

/// Parses `500ms`, `5s`, `1m`, `1m30s` or a bare number of seconds, from [`MIN_INTERVAL`] to
/// [`MAX_INTERVAL`]; anything else (zero, negative, NaN, `inf`, `1e20`, `500000000000y`) is
/// refused with the allowed range, never a panic.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let out_of_range =
        || format!("{text:?} is out of range: the interval must be from 1ms to 7 days (7d)");
    let duration = match text.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| out_of_range())?,
        Err(_) => match humantime::parse_duration(text) {
            Ok(duration) => duration,
            Err(humantime::DurationError::NumberOverflow) => return Err(out_of_range()),
            Err(err) => {
                return Err(format!(
                    "{text:?} is not a duration like 500ms, 5s or 1m ({err}); \
                     the interval must be from 1ms to 7 days (7d)"
                ));
            }
        },
    };
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&duration) {
        return Err(out_of_range());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy as _;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        match Cli::try_parse_from(args)?.into_invocation()? {
            Invocation::Watch(config) => Ok(*config),
            Invocation::Completions(shell) => panic!("unexpected completions for {shell}"),
        }
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
        assert_eq!(config.selection, Selection::of("pods"));
        assert!(config.namespaces.is_empty());
        assert_eq!(config.interval, Duration::from_secs(30));
        assert!(!config.once);
        assert!(!config.source.metadata_only);
        assert!(
            config.reflector.streaming_list && config.reflector.watch_cache_lists,
            "a watching run starts as cheaply as the server can serve it"
        );
        assert_eq!(
            config.cluster,
            ClusterChoice::Kubeconfig(KubeconfigChoice::default())
        );
        assert!(config.format.is_keys(), "{:?}", config.format);
        assert_eq!(config.mode, Mode::Listings);
        assert_eq!(config.selectors, Selectors::default());
        assert_eq!(config.metrics_addr, None);
        assert_eq!(config.client.compression, Compression::Auto);
        assert!(!config.source.table, "a Table is asked for -o wide only");
        assert_eq!(
            config.reflector.restore_check_interval,
            Duration::from_secs(120)
        );
        assert_eq!(config.reflector.resync_every, None);
    }

    #[test]
    fn flags_map_onto_the_config() {
        let config = parse(&[
            "kreflect",
            "deploy",
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
            "-l",
            "app=web",
            "--field-selector",
            "status.phase=Running",
            "-o",
            "json",
            "--metrics-addr",
            "127.0.0.1:9090",
            "--metadata-only",
            "--streaming-list",
            "--disable-compression",
            "--restore-check-every",
            "5m",
            "--resync-every",
            "1h",
        ])
        .expect("valid");
        assert_eq!(config.client.compression, Compression::Never);
        assert!(!config.source.table, "a Table is asked for -o wide only");
        assert_eq!(
            config.reflector.restore_check_interval,
            Duration::from_secs(300)
        );
        assert_eq!(
            config.reflector.resync_every,
            Some(Duration::from_secs(3600))
        );
        assert_eq!(config.selection, Selection::of("deploy"));
        assert!(config.source.metadata_only);
        assert!(
            config.reflector.streaming_list,
            "--streaming-list, accepted for old scripts, changes nothing"
        );
        assert_eq!(config.namespaces, ["shop"]);
        assert_eq!(config.interval, Duration::from_secs(5));
        assert!(config.once);
        assert_eq!(
            config.cluster,
            ClusterChoice::Kubeconfig(KubeconfigChoice {
                path: Some("/tmp/kc".into()),
                context: Some("prod".into()),
                ..KubeconfigChoice::default()
            })
        );
        assert_eq!(config.selectors.label.as_deref(), Some("app=web"));
        assert_eq!(
            config.selectors.field.as_deref(),
            Some("status.phase=Running")
        );
        assert!(
            matches!(config.format, ListingFormat::Own(OutputFormat::Json)),
            "{:?}",
            config.format
        );
        assert_eq!(
            config.metrics_addr,
            Some("127.0.0.1:9090".parse().expect("addr"))
        );
        assert_eq!(
            parse(&["kreflect", "pods", "--sim"]).expect("sim").cluster,
            ClusterChoice::Sim
        );
        let wide = parse(&["kreflect", "pods", "-o", "wide"]).expect("wide");
        assert!(wide.source.table, "-o wide asks the server for a Table");
        assert!(
            parse(&["kreflect", "pods", "-A"])
                .expect("-A")
                .namespaces
                .is_empty()
        );
        assert_eq!(
            parse(&["kreflect", "po", "--events"]).expect("events").mode,
            Mode::Events
        );
        assert_eq!(
            parse(&["kreflect", "no", "--diff"]).expect("diff").mode,
            Mode::Diff
        );
    }

    #[test]
    fn help_ends_with_examples_and_exit_codes_under_the_name_it_was_run_as() {
        for (argv0, command) in [
            ("kreflect", "kreflect"),
            ("/usr/local/bin/kubectl-reflect", "kubectl reflect"),
        ] {
            let err = Cli::try_parse_args_from([argv0, "--help"]).expect_err("help");
            assert_eq!(err.kind(), ErrorKind::DisplayHelp);
            let help = err.to_string();
            for expected in [
                "Examples:\n".to_owned(),
                format!("  {command} pods --once | grep -c .\n"),
                format!("  {command} pods --sim --interval 2s\n"),
                "Exit status:\n".to_owned(),
                "  129, 130, 143  --once stopped by SIGHUP, Ctrl-C (SIGINT) or SIGTERM".to_owned(),
            ] {
                assert!(help.contains(&expected), "{expected:?} missing in:\n{help}");
            }
        }
    }

    #[test]
    fn templates_are_parsed_with_their_flags_and_read_the_objects_as_json() {
        let config = parse(&[
            "kreflect",
            "pods",
            "-o",
            "custom-columns=NAME:.metadata.name",
            "--no-headers",
        ])
        .expect("valid");
        let ListingFormat::Template(listing) = &config.format else {
            panic!("{:?}", config.format);
        };
        assert_eq!(listing.headers, Headers::Omit);
        assert_eq!(
            config.source.wire,
            Wire::Json,
            "a template needs the fields"
        );
        assert!(!config.source.table);
        let jsonpath = parse(&["kreflect", "pods", "-o", "jsonpath={.metadata.name}"]);
        let ListingFormat::Template(listing) = jsonpath.expect("valid").format else {
            panic!("not a template");
        };
        assert_eq!(listing.headers, Headers::Print);
        let events = parse(&[
            "kreflect",
            "pods",
            "--events",
            "-o",
            "json",
            "--output-watch-events",
        ]);
        let events = events.expect("valid");
        assert!(events.output_watch_events);
        assert_eq!(
            events.source.wire,
            Wire::Json,
            "each event carries its whole object"
        );
        let filtered = parse(&[
            "kreflect",
            "pods",
            "--events",
            "--event-types",
            "deleted,ADDED",
        ]);
        let filter = filtered.expect("valid").event_filter;
        assert_eq!(
            filter.only,
            Some(vec![ChangeType::Deleted, ChangeType::Added])
        );
        assert!(
            !filter.print_unchanged,
            "a template's unchanged lines are left out by default"
        );
        let lines = parse(&["kreflect", "pods", "--events", "--output-watch-events"]);
        assert_eq!(
            lines.expect("valid").source.wire,
            Wire::Auto,
            "lines carry keys only"
        );
        let keys = parse(&["kreflect", "pods", "--wire", "protobuf"]).expect("valid");
        assert_eq!(
            keys.source.wire,
            Wire::Protobuf,
            "keys keep the wire asked for"
        );
        for args in [
            &["kreflect", "pods", "-o", "name", "--wire", "protobuf"][..],
            &["kreflect", "pods", "-o", "name", "--diff"],
            &["kreflect", "pods", "-o", "json", "--output-watch-events"],
            &["kreflect", "pods", "--event-types", "ADDED"],
            &["kreflect", "pods", "--events", "--event-types", "CREATED"],
            &["kreflect", "pods", "--print-unchanged"],
            &["kreflect", "pods", "-o", "jsonpath={.a"],
            &["kreflect", "pods", "-o", "jsonpath="],
            &["kreflect", "pods", "-o", "go-template={{.a}}"],
        ] {
            let err = parse(args).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn a_timeout_without_what_it_bounds_is_refused_even_next_to_a_conflicting_flag() {
        for (args, said) in [
            (
                &["kreflect", "pods", "--timeout", "2s", "--exec", "cat"][..],
                "--exec-timeout",
            ),
            (
                &[
                    "kreflect",
                    "pods",
                    "x",
                    "--for=delete",
                    "--exec-timeout",
                    "5s",
                ],
                "needs --exec",
            ),
        ] {
            let err = parse(args).expect_err("refused");
            assert!(err.to_string().contains(said), "{args:?}: {err}");
        }
    }

    #[test]
    fn exec_runs_a_command_in_place_of_printing_and_refuses_what_it_cannot_mean() {
        let events = parse(&[
            "kreflect",
            "pods",
            "--events",
            "--exec",
            "cat >> log",
            "--exec-timeout",
            "5s",
        ])
        .expect("valid");
        assert_eq!(
            events.exec,
            Some(ExecPlan {
                command: "cat >> log".to_owned(),
                timeout: Some(Duration::from_secs(5)),
            })
        );
        assert_eq!(
            events.source.wire,
            Wire::Json,
            "the command reads each object"
        );
        let once = parse(&["kreflect", "pods", "--once", "--exec", "wc -l"]).expect("valid");
        assert!(once.once && once.exec.is_some());
        assert_eq!(
            once.source.wire,
            Wire::Auto,
            "a listing of keys reads no object"
        );
        parse(&["kreflect", "pods", "--diff", "--exec", "cat"]).expect("valid");
        parse(&["kreflect", "pods", "-o", "json", "--exec", "jq ."]).expect("valid");
        assert_eq!(parse(&["kreflect", "pods"]).expect("valid").exec, None);
        for (args, said) in [
            (&["kreflect", "pods", "--exec", " "][..], "--exec is empty"),
            (&["kreflect", "pods", "--exec-timeout", "5s"], "--exec"),
            (
                &["kreflect", "pods", "--exec", "x", "--for=delete"],
                "--for",
            ),
            (
                &["kreflect", "pods", "--events", "--exec", "x", "-o", "json"],
                "-o and --output-watch-events",
            ),
            (
                &[
                    "kreflect",
                    "pods",
                    "--events",
                    "--exec",
                    "x",
                    "--output-watch-events",
                ],
                "-o and --output-watch-events",
            ),
            (
                &["kreflect", "pods", "--exec", "x", "-o", "wide"],
                "-o wide",
            ),
            (
                &[
                    "kreflect", "pods", "--events", "--exec", "x", "--wire", "protobuf",
                ],
                "--events --exec",
            ),
            (
                &["kreflect", "pods", "--exec", "x", "--exec-timeout", "0"],
                "1ms",
            ),
        ] {
            let err = parse(args).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(said), "{args:?}: {err}");
        }
    }

    #[test]
    fn usage_errors_are_refused() {
        for args in [
            &["kreflect", "pods", "-n", "a", "-A"][..],
            &["kreflect", "pods", "--interval", "0"],
            &["kreflect", "pods", "--interval", "soon"],
            &["kreflect", "pods", "--sim", "--kubeconfig", "x"],
            &["kreflect", "pods", "--events", "--once"],
            &["kreflect", "pods", "--events", "--diff"],
            &["kreflect", "pods", "--diff", "-o", "json"],
            &["kreflect", "pods", "--events", "-o", "wide"],
            &["kreflect", "pods", "-o", "yaml"],
            &["kreflect", "pods", "--metrics-addr", "nowhere"],
            &["kreflect"],
        ] {
            let err = parse(args).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn intervals_outside_1ms_to_7_days_are_refused_naming_the_range() {
        for bad in [
            "1e20",
            "500000000000y",
            "18446744073709551616",
            "inf",
            "-inf",
            "-0.5",
            "0.0001",
            "1us",
            "8d",
            "604801",
            "99999999999999999999999999999s",
        ] {
            let err = parse_interval(bad).expect_err(bad);
            assert!(
                err.contains("1ms") && err.contains("7 days"),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(parse_interval("1ms"), Ok(MIN_INTERVAL));
        assert_eq!(parse_interval("7d"), Ok(MAX_INTERVAL));
        assert_eq!(parse_interval("604800"), Ok(MAX_INTERVAL));
    }

    #[test]
    fn empty_values_that_would_change_meaning_are_usage_errors() {
        for (args, named) in [
            (&["kreflect", "pods", "-n", ""][..], "-A"),
            (&["kreflect", "pods", "--namespace="], "-A"),
            (&["kreflect", "pods", "-n", "a,"], "-A"),
            (&["kreflect", "pods", "-n", "a,,b"], "-A"),
            (&["kreflect", "pods", "-n", "a", "-n", ""], "-A"),
            (&["kreflect", "pods", "--context", ""], "--context"),
            (&["kreflect", "pods", "--kubeconfig", ""], "--kubeconfig"),
            (&["kreflect", ""], "RESOURCE"),
        ] {
            let err = parse(args).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(named), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_namespace_that_is_not_a_namespace_name_is_a_usage_error() {
        for namespace in [
            "a/b",
            "a?watch=true",
            "Shop",
            "-a",
            "a-",
            "a b",
            &"a".repeat(64),
        ] {
            let flag = format!("--namespace={namespace}");
            let err = parse(&["kreflect", "pods", &flag]).expect_err(namespace);
            assert_eq!(err.exit_code(), 2, "{namespace}");
            assert!(err.to_string().contains("not a namespace name"), "{err}");
        }
        for namespace in ["a", "kube-system", "0", &"a".repeat(63)] {
            let config = parse(&["kreflect", "pods", "-n", namespace]).expect(namespace);
            assert_eq!(config.namespaces, [namespace]);
        }
    }

    #[test]
    fn the_flags_that_shape_events_need_events_even_with_once() {
        for flag in [
            "--output-watch-events",
            "--event-types=added",
            "--watch-only",
            "--print-unchanged",
        ] {
            for args in [
                &["kreflect", "pods", flag][..],
                &["kreflect", "pods", "--once", flag],
            ] {
                let err = parse(args).expect_err(flag);
                assert_eq!(err.exit_code(), 2, "{args:?}");
                assert!(err.to_string().contains("--events"), "{args:?}: {err}");
            }
            parse(&["kreflect", "pods", "--events", flag]).expect(flag);
        }
    }

    #[test]
    fn several_namespaces_are_comma_separated_or_repeated_and_listed_sorted_once_each() {
        for args in [
            &["kreflect", "pods", "-n", "web,shop"][..],
            &["kreflect", "pods", "-n", "web", "-n", "shop"],
            &["kreflect", "pods", "--namespace=shop,web,shop"],
            &["kreflect", "pods", "-n", "web", "--namespace", "shop,web"],
        ] {
            assert_eq!(parse(args).expect("namespaces").namespaces, ["shop", "web"]);
        }
        let err = parse(&["kreflect", "pods", "-n", "shop,Web"]).expect_err("Web");
        assert!(
            err.to_string().contains("\"Web\" is not a namespace name"),
            "{err}"
        );
        let err = parse(&["kreflect", "pods", "-n", "shop,web", "-A"]).expect_err("-A");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn names_and_several_kinds_are_positional_arguments_as_with_kubectl_get() {
        let config = parse(&["kreflect", "pods", "web-1", "web-2", "-n", "shop"]).expect("names");
        assert_eq!(config.selection.wanted.len(), 1);
        assert_eq!(config.selection.wanted[0].names, ["web-1", "web-2"]);
        let config = parse(&["kreflect", "pod/web-1", "deploy/d1"]).expect("type/name");
        assert_eq!(config.selection.wanted.len(), 2);
        let config = parse(&["kreflect", "pods,deploy", "--once"]).expect("kinds");
        assert_eq!(config.selection.wanted.len(), 2);
        for args in [
            &["kreflect", "pods", "pod/web-1"][..],
            &["kreflect", "pods", "a%b"],
            &["kreflect", "pod/a/b"],
        ] {
            let err = parse(args).expect_err("usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn empty_selectors_select_everything_as_with_kubectl() {
        let config = parse(&["kreflect", "pods", "-l", "", "--field-selector", ""]).expect("ok");
        assert_eq!(config.selectors, Selectors::default());
    }

    #[test]
    fn non_utf8_arguments_are_usage_errors_not_panics() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'a', 0xff, b'b']);
        for flag in ["-n", "--interval", "-l", "--context", "--metrics-addr"] {
            let args = [
                OsString::from("kreflect"),
                "pods".into(),
                flag.into(),
                bad.clone(),
            ];
            let err = Cli::try_parse_from(args).expect_err(flag);
            assert_eq!(err.exit_code(), 2, "{flag}");
        }
        let args = [
            OsString::from("kreflect"),
            "pods".into(),
            "--kubeconfig".into(),
            bad,
        ];
        let config = Cli::try_parse_from(args).expect("a non-UTF-8 path is a path");
        assert!(config.into_invocation().is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn no_flag_value_panics_and_every_accepted_config_is_in_range(
            interval in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "[-+]?[0-9]{0,25}(\\.[0-9]{0,4})?(e[-+]?[0-9]{1,3})?",
                "[0-9]{1,22}(ns|us|ms|s|m|h|d|w|M|y)([0-9]{1,20}(ms|s|m|h|d|y))?",
                proptest::sample::select(vec!["inf", "-inf", "NaN", "1e20", "1e-20"])
                    .prop_map(str::to_owned),
            ],
            flag in proptest::sample::select(vec![
                "-n", "-l", "--field-selector", "--context", "--kubeconfig", "--metrics-addr",
                "-o", "--interval",
            ]),
            value in proptest::prelude::any::<String>(),
            verbose in 0usize..400,
        ) {
            let verbosity = format!("-{}", "v".repeat(verbose.max(1)));
            let args = ["kreflect", "pods", "--interval", &interval, flag, &value, &verbosity];
            if let Ok(Invocation::Watch(config)) =
                Cli::try_parse_from(args).and_then(Cli::into_invocation)
            {
                proptest::prop_assert!((MIN_INTERVAL..=MAX_INTERVAL).contains(&config.interval));
                proptest::prop_assert!(
                    tokio::time::Instant::now().checked_add(config.interval).is_some()
                );
                proptest::prop_assert!(!config.namespaces.iter().any(String::is_empty));
                proptest::prop_assert!(!config.selection.wanted.is_empty());
            }
        }

        #[test]
        fn interval_numbers_never_panic(seconds in proptest::prelude::any::<f64>()) {
            if let Ok(interval) = parse_interval(&seconds.to_string()) {
                proptest::prop_assert!((MIN_INTERVAL..=MAX_INTERVAL).contains(&interval));
            }
        }
    }

    #[test]
    fn completions_for_each_shell() {
        for name in ["bash", "zsh", "fish"] {
            let cli = Cli::try_parse_from(["kreflect", "completions", name]).expect("valid");
            let Ok(Invocation::Completions(shell)) = cli.into_invocation() else {
                panic!("completions expected");
            };
            assert_eq!(shell.to_string(), name);
        }
    }

    #[test]
    fn verbosity_counts() {
        let cli = Cli::try_parse_from(["kreflect", "pods", "-vv"]).expect("valid");
        assert_eq!(cli.verbose, 2);
    }

    #[test]
    fn the_kubectl_plugin_is_argv0s_file_name_kubectl_reflect() {
        for (argv0, expected) in [
            ("/usr/local/bin/kubectl-reflect", InvokedAs::KubectlPlugin),
            ("kubectl-reflect", InvokedAs::KubectlPlugin),
            ("kreflect", InvokedAs::Kreflect),
            ("./target/debug/kreflect", InvokedAs::Kreflect),
            ("/opt/kubectl-reflect/kreflect", InvokedAs::Kreflect),
            ("kubectl-reflect-pods", InvokedAs::Kreflect),
        ] {
            assert_eq!(
                InvokedAs::from_argv0(Some(OsStr::new(argv0))),
                expected,
                "{argv0}"
            );
        }
        assert_eq!(InvokedAs::from_argv0(None), InvokedAs::Kreflect);
    }

    #[test]
    fn help_and_usage_errors_name_the_command_as_it_was_run() {
        for (argv0, usage) in [
            ("/usr/local/bin/kubectl-reflect", "Usage: kubectl reflect "),
            ("/usr/local/bin/kreflect", "Usage: kreflect "),
        ] {
            let help = Cli::try_parse_args_from([argv0, "--help"]).expect_err("help");
            assert_eq!(help.kind(), ErrorKind::DisplayHelp);
            let unknown = Cli::try_parse_args_from([argv0, "pods", "--nope"]).expect_err("--nope");
            let conflict = Cli::try_parse_args_from([argv0, "pods", "--diff", "-o", "json"])
                .expect("parses")
                .into_invocation()
                .expect_err("--diff with -o json");
            for err in [help, unknown, conflict] {
                assert!(err.to_string().contains(usage), "{argv0}: {err}");
            }
        }
    }
}
