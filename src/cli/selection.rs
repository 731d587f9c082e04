//! What the positional arguments select, read as `kubectl get` reads them (its resource
//! builder's `ResourceTypeOrNameArgs`):
//! - `TYPE[,TYPE...] [NAME...]`: each type (a resource name, or a category such as `all`) with
//!   the names, if any, applying to every type: `pods`, `pods,deploy`, `pods web-1 web-2`.
//! - `TYPE/NAME...`: objects of any types, `pod/web-1 deployment.apps/d1`; mixing the two forms
//!   is refused with kubectl's message.
//!
//! Names are checked as the API server checks a name in a path (`.`, `..`, `/` and `%` are
//! refused) before anything is sent: a name goes into a `fieldSelector`, or is compared in the
//! client.

/// One type the arguments name, with the names asked for (none: every object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The type as typed: `pods`, `deploy`, `deployments.apps`, or a category (`all`).
    pub resource: String,
    /// The object names asked for, each once, in argument order; empty for all objects.
    pub names: Vec<String>,
}

/// What the positional arguments select: the types in argument order, each once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The types, each with its names.
    pub wanted: Vec<Wanted>,
}

impl Selection {
    /// One type, every object (`kreflect pods`).
    #[cfg(test)]
    pub fn of(resource: &str) -> Selection {
        Selection {
            wanted: vec![Wanted {
                resource: resource.to_owned(),
                names: Vec::new(),
            }],
        }
    }

    /// Reads the positional arguments; the message of a usage error otherwise.
    pub fn parse(args: &[String]) -> Result<Selection, String> {
        let with_slash = args.iter().filter(|arg| arg.contains('/')).count();
        if with_slash > 0 && with_slash != args.len() {
            return Err(
                "there is no need to specify a resource type as a separate argument when \
                 passing arguments in resource/name form (e.g. 'kreflect resource/<resource_name>' \
                 instead of 'kreflect resource resource/<resource_name>')"
                    .to_owned(),
            );
        }
        let mut selection = Selection { wanted: Vec::new() };
        if with_slash > 0 {
            for arg in args {
                let (resource, name) = split_type_name(arg)?;
                selection.add(resource, &[name.to_owned()]);
            }
            return Ok(selection);
        }
        let Some((types, names)) = args.split_first() else {
            return Err("name a RESOURCE, e.g. pods".to_owned());
        };
        for name in names {
            check_name(name)?;
        }
        for resource in types.split(',') {
            if resource.is_empty() {
                return Err(format!(
                    "RESOURCE {types:?} names an empty type; name one, e.g. pods or pods,deploy"
                ));
            }
            selection.add(resource, names);
        }
        Ok(selection)
    }

    /// Adds `names` of `resource`, merging with an earlier mention of the same type.
    fn add(&mut self, resource: &str, names: &[String]) {
        let index = match self.wanted.iter().position(|w| w.resource == resource) {
            Some(index) => index,
            None => {
                self.wanted.push(Wanted {
                    resource: resource.to_owned(),
                    names: Vec::new(),
                });
                self.wanted.len() - 1
            }
        };
        let wanted = &mut self.wanted[index];
        for name in names {
            if !wanted.names.contains(name) {
                wanted.names.push(name.clone());
            }
        }
    }
}

/// `TYPE/NAME` into its two parts, with kubectl's messages.
fn split_type_name(arg: &str) -> Result<(&str, &str), String> {
    let mut parts = arg.split('/');
    let (Some(resource), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "{arg:?}: arguments in resource/name form may not have more than one slash"
        ));
    };
    if resource.is_empty() || name.is_empty() {
        return Err(format!(
            "{arg:?}: arguments in resource/name form must have a single resource and name"
        ));
    }
    check_name(name)?;
    Ok((resource, name))
}

/// Refuses a name no object can have in a request path (apimachinery's
/// `IsValidPathSegmentName`): empty, `.`, `..`, or holding `/` or `%`.
fn check_name(name: &str) -> Result<(), String> {
    let problem = match name {
        "" => "a name may not be empty",
        "." | ".." => "may not be '.' or '..'",
        _ if name.contains('/') => "may not contain '/'",
        _ if name.contains('%') => "may not contain '%'",
        _ => return Ok(()),
    };
    Err(format!("invalid resource name {name:?}: {problem}"))
}

/// The `fieldSelector` to send for `names`: with exactly one name `metadata.name=NAME` (escaped
/// as apimachinery's `fields.EscapeValue` does), joined to the user's `--field-selector`;
/// otherwise the user's alone (several names are filtered in the client).
pub fn field_selector(user: Option<&str>, names: &[String]) -> Option<String> {
    let [name] = names else {
        return user.map(str::to_owned);
    };
    let mut term = String::from("metadata.name=");
    for c in name.chars() {
        if matches!(c, '\\' | ',' | '=') {
            term.push('\\');
        }
        term.push(c);
    }
    Some(match user {
        Some(user) => format!("{user},{term}"),
        None => term,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Vec<(String, Vec<String>)>, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        Ok(Selection::parse(&args)?
            .wanted
            .into_iter()
            .map(|w| (w.resource, w.names))
            .collect())
    }

    fn wanted(resource: &str, names: &[&str]) -> (String, Vec<String>) {
        (
            resource.to_owned(),
            names.iter().map(|n| (*n).to_owned()).collect(),
        )
    }

    #[test]
    fn a_type_then_names_apply_the_names_to_every_type() {
        assert_eq!(parse(&["pods"]), Ok(vec![wanted("pods", &[])]));
        assert_eq!(
            parse(&["pods", "web-1", "web-2", "web-1"]),
            Ok(vec![wanted("pods", &["web-1", "web-2"])])
        );
        assert_eq!(
            parse(&["pods,deploy", "web"]),
            Ok(vec![wanted("pods", &["web"]), wanted("deploy", &["web"])])
        );
        assert_eq!(parse(&["all"]), Ok(vec![wanted("all", &[])]));
    }

    #[test]
    fn type_slash_name_arguments_group_names_by_type_in_argument_order() {
        assert_eq!(
            parse(&["pod/web-1", "deployment.apps/d1", "pod/web-2"]),
            Ok(vec![
                wanted("pod", &["web-1", "web-2"]),
                wanted("deployment.apps", &["d1"])
            ])
        );
    }

    #[test]
    fn mixing_the_forms_and_malformed_pairs_are_refused_with_kubectls_messages() {
        let mixed = parse(&["pods", "pod/web-1"]).expect_err("mixed");
        assert!(mixed.starts_with("there is no need to specify a resource type"));
        assert!(
            parse(&["pod/a/b"])
                .expect_err("two slashes")
                .contains("more than one slash")
        );
        for arg in ["pod/", "/web"] {
            let err = parse(&[arg]).expect_err(arg);
            assert!(err.contains("single resource and name"), "{err}");
        }
        assert!(
            parse(&["pods,", "x"])
                .expect_err("empty type")
                .contains("empty type")
        );
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn names_that_cannot_be_in_a_path_are_refused() {
        for name in ["", ".", "..", "a%2Fb"] {
            let err = parse(&["pods", name]).expect_err(name);
            assert!(err.starts_with("invalid resource name"), "{name:?}: {err}");
        }
        assert!(parse(&["pod/.."]).is_err());
        assert!(
            parse(&["pods", "a:b", "x.y"]).is_ok(),
            "RBAC-style names are names"
        );
    }

    #[test]
    fn one_name_is_a_field_selector_joined_with_the_users_several_are_not() {
        let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            field_selector(None, &names(&["web-1"])).as_deref(),
            Some("metadata.name=web-1")
        );
        assert_eq!(
            field_selector(Some("status.phase=Running"), &names(&["web-1"])).as_deref(),
            Some("status.phase=Running,metadata.name=web-1")
        );
        assert_eq!(
            field_selector(None, &names(&["a,b=c\\d"])).as_deref(),
            Some("metadata.name=a\\,b\\=c\\\\d")
        );
        assert_eq!(
            field_selector(Some("x=y"), &names(&["a", "b"])).as_deref(),
            Some("x=y")
        );
        assert_eq!(field_selector(None, &[]), None);
    }
}
