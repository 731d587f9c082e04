//! Label and field selectors as the API server parses and applies them to Pods:
//! `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a` for labels; `=`, `==` and
//! `!=` on `metadata.name`, `metadata.namespace`, `spec.nodeName` and `status.phase` for fields.
//! Requirements separated by commas must all hold.

use serde_json::Value;

/// One label requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `labelSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<LabelRequirement>);

/// A parsed `fieldSelector`: `(field, value, equal)` requirements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, String, bool)>);

/// The fields of a Pod a field selector may name.
const POD_FIELDS: [&str; 4] = [
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "status.phase",
];

/// The fields every other kind supports.
const COMMON_FIELDS: [&str; 2] = ["metadata.name", "metadata.namespace"];

/// Both selectors of a list or watch request, applied to stored list items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ObjectFilter {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl ObjectFilter {
    /// The filter of a request's `labelSelector` and `fieldSelector`, `None` when it has
    /// neither; the error is the server's 400 message.
    pub(crate) fn from_params(
        labels: Option<&str>,
        fields: Option<&str>,
        pods: bool,
    ) -> Result<Option<ObjectFilter>, String> {
        let labels = labels.filter(|text| !text.trim().is_empty());
        let fields = fields.filter(|text| !text.trim().is_empty());
        if labels.is_none() && fields.is_none() {
            return Ok(None);
        }
        let allowed: &[&str] = if pods { &POD_FIELDS } else { &COMMON_FIELDS };
        Ok(Some(ObjectFilter {
            labels: labels
                .map(LabelSelector::parse)
                .transpose()?
                .unwrap_or_default(),
            fields: fields
                .map(|text| FieldSelector::parse(text, allowed))
                .transpose()?
                .unwrap_or_default(),
        }))
    }

    /// Whether a stored item (its JSON) matches.
    pub(crate) fn matches(&self, item: &[u8]) -> bool {
        let Ok(object) = serde_json::from_slice::<Value>(item) else {
            return false;
        };
        let labels = object
            .get("metadata")
            .and_then(|metadata| metadata.get("labels"))
            .and_then(Value::as_object);
        self.labels.matches(labels) && self.fields.matches(&object)
    }
}

/// Splits on commas that are not inside parentheses.
fn requirements(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts.into_iter().filter(|part| !part.is_empty()).collect()
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// A label value the real server's selector lexer accepts: its tokens (`(`, `)`, `,`, `!`, `=`)
/// cannot appear in one (transcript 24), and the rest must be a valid label value.
fn check_value(value: &str) -> Result<(), String> {
    if let Some(token) = value.chars().find(|c| "(),!=".contains(*c)) {
        return Err(format!(
            "unable to parse requirement: found '{token}', expected: identifier"
        ));
    }
    let valid = value.len() <= 63
        && (value.is_empty()
            || (value.starts_with(|c: char| c.is_ascii_alphanumeric())
                && value.ends_with(|c: char| c.is_ascii_alphanumeric())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label value: {value:?}: a valid label must be \
             an empty string or consist of alphanumeric characters, '-', '_' or '.', and must \
             start and end with an alphanumeric character"
        ))
    }
}

fn set_values(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect(),
    )
}

impl LabelSelector {
    /// Parses a selector; the error is the message the server answers with (400).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for requirement in requirements(text) {
            let bad = || format!("unable to parse requirement: {requirement:?}");
            let parsed_requirement = if let Some(key) = requirement.strip_prefix('!') {
                LabelRequirement::DoesNotExist(key.trim().to_owned())
            } else if let Some((key, value)) = requirement.split_once("!=") {
                LabelRequirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = requirement
                .split_once("==")
                .or_else(|| requirement.split_once('='))
            {
                LabelRequirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, values)) = requirement.split_once(" notin ") {
                LabelRequirement::NotIn(key.trim().to_owned(), set_values(values).ok_or_else(bad)?)
            } else if let Some((key, values)) = requirement.split_once(" in ") {
                LabelRequirement::In(key.trim().to_owned(), set_values(values).ok_or_else(bad)?)
            } else {
                LabelRequirement::Exists(requirement.to_owned())
            };
            let key = match &parsed_requirement {
                LabelRequirement::Equals(key, _)
                | LabelRequirement::NotEquals(key, _)
                | LabelRequirement::In(key, _)
                | LabelRequirement::NotIn(key, _)
                | LabelRequirement::Exists(key)
                | LabelRequirement::DoesNotExist(key) => key,
            };
            if !valid_key(key) {
                return Err(bad());
            }
            let values: &[String] = match &parsed_requirement {
                LabelRequirement::Equals(_, value) | LabelRequirement::NotEquals(_, value) => {
                    std::slice::from_ref(value)
                }
                LabelRequirement::In(_, values) | LabelRequirement::NotIn(_, values) => values,
                LabelRequirement::Exists(_) | LabelRequirement::DoesNotExist(_) => &[],
            };
            for value in values {
                check_value(value)?;
            }
            parsed.push(parsed_requirement);
        }
        Ok(LabelSelector(parsed))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let label = |key: &str| {
            labels
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str)
        };
        self.0.iter().all(|requirement| match requirement {
            LabelRequirement::Equals(key, value) => label(key) == Some(value.as_str()),
            LabelRequirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
            LabelRequirement::In(key, values) => {
                label(key).is_some_and(|found| values.iter().any(|value| value == found))
            }
            LabelRequirement::NotIn(key, values) => {
                label(key).is_none_or(|found| values.iter().all(|value| value != found))
            }
            LabelRequirement::Exists(key) => label(key).is_some(),
            LabelRequirement::DoesNotExist(key) => label(key).is_none(),
        })
    }
}

impl FieldSelector {
    /// Parses a field selector over the `allowed` fields; the error is the message the server
    /// answers with (400).
    pub fn parse(text: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for requirement in requirements(text) {
            let (field, value, equal) = if let Some((field, value)) = requirement.split_once("!=") {
                (field, value, false)
            } else if let Some((field, value)) = requirement
                .split_once("==")
                .or_else(|| requirement.split_once('='))
            {
                (field, value, true)
            } else {
                return Err(format!(
                    "invalid selector: '{requirement}'; can't understand '{requirement}'"
                ));
            };
            let field = field.trim();
            if !allowed.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            parsed.push((field.to_owned(), value.trim().to_owned(), equal));
        }
        Ok(FieldSelector(parsed))
    }

    /// Whether a Pod's fields satisfy every requirement (a missing field reads as empty).
    pub fn matches(&self, pod: &Value) -> bool {
        self.0.iter().all(|(field, value, equal)| {
            let found = field
                .split('.')
                .try_fold(pod, |object, part| object.get(part))
                .and_then(Value::as_str)
                .unwrap_or("");
            (found == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels_match(selector: &str, labels: Value) -> bool {
        LabelSelector::parse(selector)
            .expect("valid selector")
            .matches(labels.as_object())
    }

    #[test]
    fn label_operators() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(labels_match("app=web", labels.clone()));
        assert!(labels_match("app==web,tier=front", labels.clone()));
        assert!(!labels_match("app=db", labels.clone()));
        assert!(labels_match("app!=db", labels.clone()));
        assert!(labels_match("missing!=x", labels.clone()));
        assert!(labels_match("app in (web, api)", labels.clone()));
        assert!(!labels_match("app in (db)", labels.clone()));
        assert!(labels_match("app notin (db,api)", labels.clone()));
        assert!(labels_match("missing notin (db)", labels.clone()));
        assert!(labels_match("tier", labels.clone()));
        assert!(!labels_match("!tier", labels.clone()));
        assert!(labels_match("!release", labels.clone()));
        assert!(labels_match("app in (web,api),!release,tier", labels));
        assert!(!labels_match("app", json!(null)));
        assert!(labels_match("", json!({})));
    }

    #[test]
    fn bad_label_selectors_are_refused() {
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("a b").is_err());
        assert!(LabelSelector::parse("=x").is_err());
        assert!(LabelSelector::parse("a=-x").is_err());
        assert!(LabelSelector::parse("a in (x,-y)").is_err());
        assert_eq!(
            LabelSelector::parse("a=(").err().as_deref(),
            Some("unable to parse requirement: found '(', expected: identifier"),
            "transcript 24"
        );
    }

    #[test]
    fn field_selectors_on_pod_fields() {
        let pod = json!({"metadata": {"name": "web-1", "namespace": "shop"},
                         "spec": {"nodeName": "node-a"}, "status": {"phase": "Running"}});
        let matches = |selector| {
            FieldSelector::parse(selector, &POD_FIELDS)
                .expect("valid")
                .matches(&pod)
        };
        assert!(matches("metadata.name=web-1"));
        assert!(matches("metadata.namespace==shop,status.phase=Running"));
        assert!(matches("spec.nodeName!=node-b"));
        assert!(!matches("status.phase!=Running"));
        assert!(!matches("spec.nodeName="));
        assert_eq!(
            FieldSelector::parse("spec.restartPolicy=Always", &POD_FIELDS),
            Err("field label not supported: spec.restartPolicy".to_owned())
        );
        assert!(FieldSelector::parse("status.phase", &POD_FIELDS).is_err());
        assert!(FieldSelector::parse("status.phase=Running", &COMMON_FIELDS).is_err());
    }

    #[test]
    fn object_filter_reads_stored_items() {
        let filter = ObjectFilter::from_params(Some("app=web"), Some("status.phase=Running"), true)
            .expect("valid")
            .expect("a filter");
        assert!(filter.matches(
            br#"{"metadata":{"name":"a","labels":{"app":"web"}},"status":{"phase":"Running"}}"#
        ));
        assert!(!filter.matches(
            br#"{"metadata":{"name":"a","labels":{"app":"web"}},"status":{"phase":"Pending"}}"#
        ));
        assert!(!filter.matches(br#"{"metadata":{"name":"a"},"status":{"phase":"Running"}}"#));
        assert_eq!(ObjectFilter::from_params(None, Some(" "), true), Ok(None));
        assert!(ObjectFilter::from_params(Some("a in b"), None, true).is_err());
    }
}
