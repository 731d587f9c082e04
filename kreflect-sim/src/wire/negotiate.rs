//! Content negotiation: which encoding an `Accept` header gets, as apimachinery's
//! `NegotiateOutputMediaType` picks it.
//!
//! The header's media ranges are taken in order of their `q` (highest first, ties in the order
//! written; `q=0` ranges are dropped), and the first one this server can serve wins:
//! `application/json`, `application/*` or `*/*` get JSON; `application/vnd.kubernetes.protobuf`
//! gets protobuf when the resource has a protobuf encoding (the built-in kinds; a custom resource
//! has none, transcript 21), unless it asks for a Table or `PartialObjectMetadata` (`as=…`),
//! which are served as JSON only here. When the header names protobuf and nothing it names can
//! be served, the answer is 406; any other header the server does not understand gets JSON
//! (the real server answers 406 there too).

/// How a response body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/json`.
    Json,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
}

/// The protobuf media type.
pub(crate) const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
/// The media type of a protobuf watch stream.
pub(crate) const PROTOBUF_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// The `Accept` header names only media types this server cannot serve for this resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAcceptable;

/// The encoding `accept` gets for a resource that has a protobuf encoding or not.
pub(crate) fn negotiate(
    accept: Option<&str>,
    has_protobuf: bool,
) -> Result<Encoding, NotAcceptable> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Encoding::Json);
    };
    let mut ranges: Vec<(f32, &str, bool)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media_type = parts.next().filter(|m| !m.is_empty())?;
            let mut q = 1.0_f32;
            let mut converted = false;
            for parameter in parts {
                let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
                match name.trim() {
                    "q" => q = value.trim().parse().unwrap_or(0.0),
                    "as" => converted = true,
                    _ => {}
                }
            }
            (q > 0.0).then_some((q, media_type, converted))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut names_protobuf = false;
    for (_, media_type, converted) in ranges {
        match media_type.to_ascii_lowercase().as_str() {
            "application/json" | "application/*" | "*/*" => return Ok(Encoding::Json),
            PROTOBUF => {
                names_protobuf = true;
                if has_protobuf && !converted {
                    return Ok(Encoding::Protobuf);
                }
            }
            _ => {}
        }
    }
    if names_protobuf {
        Err(NotAcceptable)
    } else {
        Ok(Encoding::Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_is_served_for_built_in_kinds_when_asked_first() {
        let client_go = Some("application/vnd.kubernetes.protobuf, application/json");
        assert_eq!(negotiate(client_go, true), Ok(Encoding::Protobuf));
        assert_eq!(
            negotiate(client_go, false),
            Ok(Encoding::Json),
            "transcript 21"
        );
        assert_eq!(negotiate(Some(PROTOBUF), false), Err(NotAcceptable));
        assert_eq!(negotiate(Some(PROTOBUF), true), Ok(Encoding::Protobuf));
        assert_eq!(negotiate(None, true), Ok(Encoding::Json));
        assert_eq!(
            negotiate(Some("application/json"), true),
            Ok(Encoding::Json)
        );
        assert_eq!(negotiate(Some("*/*"), true), Ok(Encoding::Json));
    }

    #[test]
    fn q_values_order_the_ranges_and_zero_excludes_one() {
        let json_preferred = Some("application/vnd.kubernetes.protobuf;q=0.5, application/json");
        assert_eq!(negotiate(json_preferred, true), Ok(Encoding::Json));
        let protobuf_preferred =
            Some("application/json;q=0.9, application/vnd.kubernetes.protobuf");
        assert_eq!(negotiate(protobuf_preferred, true), Ok(Encoding::Protobuf));
        let refused = Some("application/vnd.kubernetes.protobuf;q=0, application/json");
        assert_eq!(negotiate(refused, true), Ok(Encoding::Json));
    }

    #[test]
    fn tables_and_metadata_stay_json() {
        let table = Some(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, \
             application/json;as=Table;v=v1;g=meta.k8s.io, application/json",
        );
        assert_eq!(negotiate(table, true), Ok(Encoding::Json));
    }
}
