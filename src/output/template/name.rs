//! `-o name`: cli-runtime's `NamePrinter` (`printers/name.go`). One line per object: its kind
//! in lower case, `.group` when the kind has one, `/`, its name: `pod/web-0`,
//! `deployment.apps/web`.

use serde_json::Value;

use super::reads::Reads;

/// kubectl's error for an object whose `apiVersion` and `kind` are both missing (or whose
/// `apiVersion` has more than one `/`).
pub(crate) const MISSING_KIND: &str =
    "missing apiVersion or kind; try GetObjectKind().SetGroupVersionKind() if you know the type";

/// What a line reads of an object: `kind`, `apiVersion` and `metadata.name`.
pub(crate) fn reads() -> Reads {
    let mut reads = Reads::nothing();
    for path in [&["kind"][..], &["apiVersion"], &["metadata", "name"]] {
        let path: Vec<String> = path.iter().map(|key| (*key).to_owned()).collect();
        reads.add(&path);
    }
    reads
}

/// Appends `object`'s line, or fails with [`MISSING_KIND`].
pub(crate) fn write_name(object: &Value, out: &mut Vec<u8>) -> Result<(), &'static str> {
    let kind = string_at(object, &["kind"]);
    // Go's ParseGroupVersion; on its error Unstructured reports no group, version or kind.
    let (group, version) = match string_at(object, &["apiVersion"]) {
        "" | "/" => ("", ""),
        api_version => match api_version.split_once('/') {
            None => ("", api_version),
            Some((group, version)) if !version.contains('/') => (group, version),
            Some(_) => return Err(MISSING_KIND),
        },
    };
    if group.is_empty() && version.is_empty() && kind.is_empty() {
        return Err(MISSING_KIND);
    }
    let (kind, group) = if kind.is_empty() {
        ("<unknown>", "")
    } else {
        (kind, group)
    };
    let name = match string_at(object, &["metadata", "name"]) {
        "" => "<unknown>",
        name => name,
    };
    // Go's strings.ToLower maps rune by rune.
    let kind: String = kind.chars().flat_map(char::to_lowercase).collect();
    out.extend_from_slice(kind.as_bytes());
    if !group.is_empty() {
        out.push(b'.');
        out.extend_from_slice(group.as_bytes());
    }
    out.push(b'/');
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    Ok(())
}

/// The string at `path` in `object`, or `""` if there is none (as Unstructured's getters).
fn string_at<'a>(object: &'a Value, path: &[&str]) -> &'a str {
    let mut value = object;
    for key in path {
        match value.get(key) {
            Some(next) => value = next,
            None => return "",
        }
    }
    value.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The line `write_name` prints for `object`.
    fn line(object: Value) -> Result<String, &'static str> {
        let mut out = Vec::new();
        write_name(&object, &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn grouped_kinds_print_kind_dot_group() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}});
        assert_eq!(line(deployment), Ok("deployment.apps/web\n".into()));
        let core = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(line(core), Ok("configmap/c\n".into()));
    }

    #[test]
    fn missing_names_and_kinds_are_unknown_and_no_kind_at_all_is_an_error() {
        let unnamed = json!({"apiVersion": "v1", "kind": "Pod"});
        assert_eq!(line(unnamed), Ok("pod/<unknown>\n".into()));
        let kindless = json!({"apiVersion": "apps/v1", "metadata": {"name": "x"}});
        assert_eq!(line(kindless), Ok("<unknown>/x\n".into()));
        assert_eq!(line(json!({"metadata": {"name": "x"}})), Err(MISSING_KIND));
        assert_eq!(
            line(json!({"apiVersion": "/", "metadata": {}})),
            Err(MISSING_KIND)
        );
        assert_eq!(
            line(json!({"apiVersion": "a/b/c", "kind": "K"})),
            Err(MISSING_KIND)
        );
    }
}
