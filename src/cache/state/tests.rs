use super::*;
use std::path::PathBuf;

fn identity(server: &str) -> Identity {
    Identity {
        server: server.into(),
        label_selector: "app=web".into(),
        field_selector: String::new(),
        collections: vec![
            CollectionId {
                resource: "pods".into(),
                namespace: "shop".into(),
                names: vec![],
            },
            CollectionId {
                resource: "deployments.apps".into(),
                namespace: "shop".into(),
                names: vec!["web".into()],
            },
        ],
    }
}

fn entry(key: &str, rv: &str, digest: Option<u64>) -> Entry {
    let (namespace, name) = key.split_once('/').expect("namespaced");
    Entry {
        key: ObjectKey::new(Some(namespace), name),
        resource_version: rv.into(),
        digest,
    }
}

fn known() -> Vec<Known> {
    vec![
        Known {
            resource_version: Some("40".into()),
            objects: vec![
                entry("shop/a", "12", Some(7)),
                entry("shop/b", "39", Some(u64::MAX)),
            ],
        },
        Known {
            resource_version: None,
            objects: vec![entry("shop/web", "3", None)],
        },
    ]
}

fn save(path: &Path, identity: Identity, digests_of: &str, collections: &[Known]) {
    let (state, _) = StateFile::open(path, identity, digests_of.into()).expect("opened");
    state
        .writer()
        .write(&state.render(collections))
        .expect("written");
}

#[test]
fn what_a_run_saves_the_next_run_of_the_same_identity_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "keys", &known());
    let (_, saved) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    assert_eq!(
        saved,
        Some(Saved {
            collections: known()
        })
    );
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.starts_with(r#"{"kreflect":"state","version":1,"#),
        "{text}"
    );
    assert!(
        text.contains(r#"["shop/b","39","ffffffffffffffff"]"#),
        "{text}"
    );
}

#[test]
fn a_file_for_another_server_selection_or_format_version_starts_afresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "keys", &known());
    let (_, other_server) =
        StateFile::open(&path, identity("https://b"), "keys".into()).expect("opened");
    assert_eq!(other_server, None);
    let mut other_selector = identity("https://a");
    other_selector.label_selector = "app=db".into();
    let (_, other) = StateFile::open(&path, other_selector, "keys".into()).expect("opened");
    assert_eq!(other, None);
    let mut other_namespaces = identity("https://a");
    other_namespaces.collections.pop();
    let (_, other) = StateFile::open(&path, other_namespaces, "keys".into()).expect("opened");
    assert_eq!(other, None);

    let newer = std::fs::read_to_string(&path)
        .expect("read")
        .replace(r#""version":1"#, r#""version":2"#);
    std::fs::write(&path, newer).expect("written");
    let (_, newer) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    assert_eq!(newer, None);
}

#[test]
fn digests_of_another_output_format_are_not_compared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "jsonpath={.a}", &known());
    let (_, saved) =
        StateFile::open(&path, identity("https://a"), "jsonpath={.b}".into()).expect("opened");
    let saved = saved.expect("used");
    assert!(
        saved.collections[0]
            .objects
            .iter()
            .all(|entry| entry.digest.is_none())
    );
    assert_eq!(saved.collections[0].resource_version.as_deref(), Some("40"));
}

#[test]
fn a_truncated_or_corrupt_file_starts_afresh_and_another_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "keys", &known());
    let whole = std::fs::read(&path).expect("read");
    for cut in [0, 5, whole.len() / 2, whole.len() - 3] {
        std::fs::write(&path, &whole[..cut]).expect("written");
        let (_, saved) = StateFile::open(&path, identity("https://a"), "keys".into())
            .unwrap_or_else(|err| panic!("cut at {cut}: {err}"));
        assert_eq!(saved, None, "cut at {cut}");
    }
    let bad_key = String::from_utf8(whole.clone())
        .expect("utf-8")
        .replace("shop/a", "/a");
    std::fs::write(&path, bad_key).expect("written");
    let (_, saved) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    assert_eq!(saved, None);

    std::fs::write(&path, "export KUBECONFIG=~/.kube/prod\n").expect("written");
    let err = StateFile::open(&path, identity("https://a"), "keys".into()).expect_err("refused");
    assert!(matches!(err, StateError::NotOurs { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "export KUBECONFIG=~/.kube/prod\n",
        "another file is left alone"
    );
}

#[test]
fn a_second_run_on_one_file_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    let first = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    let err = StateFile::open(&path, identity("https://a"), "keys".into()).expect_err("locked");
    let message = err.to_string();
    assert!(matches!(err, StateError::InUse { pid: Some(pid), .. } if pid == std::process::id()));
    assert!(
        message.contains("in use by another kreflect run"),
        "{message}"
    );
    drop(first);
    StateFile::open(&path, identity("https://a"), "keys".into()).expect("free again");
}

#[test]
fn a_failed_write_leaves_the_previous_file_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "keys", &known());
    let before = std::fs::read(&path).expect("read");
    // The temporary file's path taken by a directory: its creation fails, as on a full disk.
    let temporary = dir
        .path()
        .join(format!(".pods.state.{}.tmp", std::process::id()));
    std::fs::create_dir(&temporary).expect("in the way");
    let (state, _) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    let err = state.writer().write(b"{}").expect_err("cannot write");
    assert_eq!(err.kind(), std::io::ErrorKind::IsADirectory, "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn a_missing_directory_is_said_before_the_run_starts() {
    let err = StateFile::open(
        Path::new("/nonexistent-kreflect-dir/pods.state"),
        identity("https://a"),
        "keys".into(),
    )
    .expect_err("no directory");
    assert!(matches!(err, StateError::Lock { .. }), "{err}");
    assert!(
        err.to_string().contains("check the directory exists"),
        "{err}"
    );
}

#[test]
fn the_digest_is_fnv1a_and_tells_texts_apart() {
    assert_eq!(digest(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(digest(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(digest(b"Running\n"), digest(b"Pending\n"));
}

#[test]
fn a_directory_a_device_or_a_fifo_is_refused_and_nothing_is_left_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for (path, what) in [
        (dir.path().to_owned(), "a directory"),
        (PathBuf::from("/dev/null"), "a device"),
        (fifo.clone(), "a FIFO"),
    ] {
        let err =
            StateFile::open(&path, identity("https://a"), "keys".into()).expect_err("refused");
        assert!(
            matches!(err, StateError::NotAFile { what: said, .. } if said == what),
            "{}: {err}",
            path.display()
        );
        assert!(err.to_string().contains("not a file"), "{err}");
        let mut lock = path.into_os_string();
        lock.push(".lock");
        assert!(!Path::new(&lock).exists(), "no lock file beside it");
    }
    assert!(
        std::fs::metadata("/dev/null")
            .map(|m| !m.is_file())
            .unwrap_or(false),
        "/dev/null is still a device"
    );
}

#[test]
fn a_symlink_is_followed_and_its_target_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("real.state");
    let link = dir.path().join("link.state");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    std::fs::write(&target, "").expect("an empty target");
    save(&link, identity("https://a"), "keys", &known());
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink(),
        "the link is kept"
    );
    let (_, saved) =
        StateFile::open(&target, identity("https://a"), "keys".into()).expect("opened");
    assert_eq!(
        saved,
        Some(Saved {
            collections: known()
        })
    );
}

#[test]
fn a_reformatted_file_is_read_and_an_empty_one_starts_afresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "keys", &known());
    // As `jq .` or Python's `json.dump(indent=1)` rewrite it: the same order, other spacing.
    let text = std::fs::read_to_string(&path).expect("read");
    let pretty = text
        .replace(",\"", ",\n  \"")
        .replace("\":", "\" : ")
        .replacen('{', "{\n ", 1);
    std::fs::write(&path, pretty).expect("written");
    let (_, saved) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    assert_eq!(
        saved,
        Some(Saved {
            collections: known()
        })
    );
    std::fs::write(&path, "\n").expect("written");
    let (_, saved) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    assert_eq!(saved, None);
}

#[test]
fn temporary_files_a_killed_run_left_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    let stale = dir.path().join(".pods.state.4242.tmp");
    let other = dir.path().join(".other.state.4242.tmp");
    std::fs::write(&stale, "half").expect("written");
    std::fs::write(&other, "not ours").expect("written");
    let _opened = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    assert!(!stale.exists());
    assert!(other.exists());
}

#[test]
fn a_resource_version_of_zero_or_a_key_of_another_namespace_is_not_resumed_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pods.state");
    save(&path, identity("https://a"), "keys", &known());
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace(r#""resourceVersion":"40""#, r#""resourceVersion":"0""#),
    )
    .expect("written");
    let (_, saved) = StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
    let saved = saved.expect("used");
    assert_eq!(
        saved.collections[0].resource_version, None,
        "a list instead"
    );
    assert_eq!(saved.collections[0].objects.len(), 2);
    for key in ["ns00/web-1", "shop/a/b"] {
        std::fs::write(&path, text.replace("shop/a", key)).expect("written");
        let (_, saved) =
            StateFile::open(&path, identity("https://a"), "keys".into()).expect("opened");
        assert_eq!(saved, None, "{key}");
    }
}
