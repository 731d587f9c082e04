//! k8s-openapi's types from an object held in either encoding: [`RawObject::decode_openapi`].
//!
//! An object received as JSON is deserialized with serde, as [`RawObject::decode`] does. An
//! object received as protobuf is decoded into k8s-pb's prost message and converted field by
//! field into the k8s-openapi type ([`FromProtobuf`]). The conversion gives what the JSON path
//! gives for the same object, as Go's `encoding/json` would have written it:
//!
//! - A Go **pointer** field (`*bool`, `*int64`, `*string`: `runAsUser`, `privileged`,
//!   `automountServiceAccountToken`, `priority`, ...) is `Some` whenever the server sent it,
//!   `Some(false)` and `Some(0)` included, and `None` when absent.
//! - A Go **non-pointer** optional scalar (`omitempty`: `hostNetwork`, `nodeName`,
//!   `initialDelaySeconds`, ...) is `None` when it holds its zero value (`""`, `0`, `false`):
//!   protobuf always carries such fields, JSON leaves their zero out.
//! - A required field (a non-`Option` in k8s-openapi) takes the value sent, or its zero.
//! - An empty list or map is `None`: protobuf cannot tell an empty list from an absent one,
//!   and the API server, which stores objects as protobuf, writes neither in JSON.
//! - A nested object is `Some` when sent, even empty (`"securityContext": {}`,
//!   `"lastState": {}`), as in JSON.
//! - `Time` keeps whole seconds (Go's protobuf decoding drops the nanoseconds, and JSON writes
//!   seconds); an empty `Time` message (Go's zero time, `null` in JSON) is `None`.
//! - `IntOrString` is `Int` or `String` by its `type` (0 or 1); `Quantity` is its string.
//!
//! Which Go fields are pointers, and which are `omitempty`, was checked against
//! `k8s.io/api` `core/v1/types.go` as of kubernetes/api commit 3fed8b5 (a 1.35 development
//! tree: a field keeps its Go type from release to release, so the fields k8s-openapi's
//! `v1_33` has are typed as in 1.33) and apimachinery's `meta/v1/types.go` (`ObjectMeta`,
//! `OwnerReference`, `LabelSelector`). A pointer written without `omitempty`
//! (`GRPCAction.service`, `TypedObjectReference.apiGroup`) is `null` in JSON when unset: `None`
//! as well.
//!
//! # Covered
//! [`k8s_openapi::api::core::v1::Pod`] and its whole tree (120 types: spec, status, every
//! volume source, affinity, probes, security contexts, ephemeral containers, resource claims,
//! and `ObjectMeta` with `ownerReferences`), listed in `openapi/pod.rs`, generated from the two
//! crates' sources (k8s-openapi 0.29 `v1_33`, k8s-pb 0.9). `metadata.managedFields` was spliced
//! out when the object was cached, so it is `None` in both encodings. k8s-pb 0.9 describes a
//! newer Kubernetes: fields k8s-openapi `v1_33` does not have are dropped
//! (`PodSpec.hostnameOverride`, `PodSpec.workloadRef`, `PodStatus.allocatedResources`,
//! `PodStatus.resources`, `PodStatus.extendedResourceClaimStatus`,
//! `Container.restartPolicyRules`, `EnvVarSource.fileKeyRef`, `VolumeProjection.podCertificate`);
//! every field of k8s-openapi's tree has a counterpart in k8s-pb.
//!
//! Other kinds: implement [`FromProtobuf`] for them (the `convert!` macro of this module lists
//! a type's fields; a new leaf type needs its own conversion). Until then
//! [`RawObject::decode_openapi`] is available for the kinds listed here, and
//! [`RawObject::decode_protobuf`] gives any kind as its k8s-pb message.

mod pod;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;

use super::{Encoding, RawObject, TypedDecodeError};

/// A k8s-openapi type that can be built from its k8s-pb message, with what the JSON path would
/// give for the same object (see the [module docs](self) for the rules).
pub trait FromProtobuf: Sized {
    /// The k8s-pb (prost) message of the same Kubernetes type.
    type Message: prost::Message + Default;

    /// Converts a decoded message.
    fn from_protobuf(message: Self::Message) -> Result<Self, ConversionError>;
}

/// Why a protobuf message could not be converted: a value its k8s-openapi type cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at {})", path.join("."))]
pub struct ConversionError {
    /// The fields from the object's root to the value (Rust field names).
    pub path: Vec<&'static str>,
    /// What is wrong with the value.
    pub reason: String,
}

impl ConversionError {
    fn new(reason: impl fmt::Display) -> Self {
        ConversionError {
            path: Vec::new(),
            reason: reason.to_string(),
        }
    }

    /// The same error, seen from the struct that holds `field`.
    fn within(mut self, field: &'static str) -> Self {
        self.path.insert(0, field);
        self
    }
}

impl RawObject {
    /// Decodes the object into a k8s-openapi type whatever its encoding: JSON with serde (as
    /// [`RawObject::decode`]), protobuf with prost and the conversion of [`FromProtobuf`]
    /// (the [module docs](self) say what it gives, and for which kinds). Both give the same
    /// value for the same object, without `metadata.managedFields`.
    ///
    /// ```
    /// # use kreflect::object::RawObject;
    /// use k8s_openapi::api::core::v1::Pod;
    /// let json = br#"{"metadata":{"name":"web","namespace":"shop"},"spec":{"containers":[]}}"#;
    /// let pod: Pod = RawObject::from_json(json, "Pod")?.decode_openapi()?;
    /// assert_eq!(pod.metadata.name.as_deref(), Some("web"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_openapi<K: FromProtobuf + DeserializeOwned>(
        &self,
    ) -> Result<K, TypedDecodeError> {
        match self.encoding {
            Encoding::Json => self.decode(),
            Encoding::Protobuf => {
                K::from_protobuf(self.decode_protobuf()?).map_err(TypedDecodeError::Conversion)
            }
        }
    }
}

/// A value converted as is, or by a rule of its own: the leaves of the trees and, through
/// [`FromProtobuf`], the trees themselves.
trait Leaf: Sized {
    /// The k8s-pb type it comes from.
    type Pb: Default;

    fn leaf(pb: Self::Pb) -> Result<Self, ConversionError>;
}

impl<T: FromProtobuf> Leaf for T {
    type Pb = T::Message;

    fn leaf(pb: Self::Pb) -> Result<Self, ConversionError> {
        T::from_protobuf(pb)
    }
}

/// A scalar protobuf always carries for a Go non-pointer field, and JSON leaves out when zero.
trait Scalar: Leaf<Pb = Self> {
    fn is_zero(&self) -> bool;
}

macro_rules! scalars {
    ($($ty:ty),*) => {$(
        impl Leaf for $ty {
            type Pb = $ty;

            fn leaf(pb: Self::Pb) -> Result<Self, ConversionError> {
                Ok(pb)
            }
        }

        impl Scalar for $ty {
            fn is_zero(&self) -> bool {
                *self == <$ty>::default()
            }
        }
    )*};
}

scalars!(String, bool, i32, i64);

impl Leaf for Quantity {
    type Pb = k8s_pb::apimachinery::pkg::api::resource::Quantity;

    fn leaf(pb: Self::Pb) -> Result<Self, ConversionError> {
        Ok(Quantity(pb.string.unwrap_or_default()))
    }
}

impl Leaf for IntOrString {
    type Pb = k8s_pb::apimachinery::pkg::util::intstr::IntOrString;

    fn leaf(pb: Self::Pb) -> Result<Self, ConversionError> {
        match pb.r#type.unwrap_or(0) {
            0 => Ok(IntOrString::Int(pb.int_val.unwrap_or_default())),
            1 => Ok(IntOrString::String(pb.str_val.unwrap_or_default())),
            other => Err(ConversionError::new(format_args!(
                "IntOrString of type {other}, neither 0 (int) nor 1 (string)"
            ))),
        }
    }
}

impl Leaf for FieldsV1 {
    type Pb = k8s_pb::apimachinery::pkg::apis::meta::v1::FieldsV1;

    fn leaf(pb: Self::Pb) -> Result<Self, ConversionError> {
        let raw = pb.raw.unwrap_or_default();
        serde_json::from_slice(&raw)
            .map(FieldsV1)
            .map_err(|err| ConversionError::new(format_args!("FieldsV1 is not JSON: {err}")))
    }
}

/// A Go pointer field, or a nested object: `Some` whenever sent.
fn opt<T: Leaf>(pb: Option<T::Pb>) -> Result<Option<T>, ConversionError> {
    pb.map(T::leaf).transpose()
}

/// A Go non-pointer `omitempty` scalar: `None` when zero, as JSON leaves it out.
fn omit<T: Scalar>(pb: Option<T>) -> Result<Option<T>, ConversionError> {
    Ok(pb.filter(|value| !value.is_zero()))
}

/// A field k8s-openapi requires: the value sent, or the zero value.
fn req<T: Leaf>(pb: Option<T::Pb>) -> Result<T, ConversionError> {
    T::leaf(pb.unwrap_or_default())
}

/// A list k8s-openapi requires.
fn req_list<T: Leaf>(pb: Vec<T::Pb>) -> Result<Vec<T>, ConversionError> {
    pb.into_iter().map(T::leaf).collect()
}

/// An optional list: `None` when empty.
fn list<T: Leaf>(pb: Vec<T::Pb>) -> Result<Option<Vec<T>>, ConversionError> {
    if pb.is_empty() {
        return Ok(None);
    }
    req_list(pb).map(Some)
}

/// A map: `None` when empty.
fn map<T: Leaf>(
    pb: BTreeMap<String, T::Pb>,
) -> Result<Option<BTreeMap<String, T>>, ConversionError> {
    if pb.is_empty() {
        return Ok(None);
    }
    pb.into_iter()
        .map(|(key, value)| Ok((key, T::leaf(value)?)))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// A `Time`, to whole seconds; `None` for an empty message (Go's zero time, `null` in JSON).
/// A message with nanoseconds and no seconds is the epoch, as Go's `Time.Unmarshal` reads it.
fn time(
    pb: Option<k8s_pb::apimachinery::pkg::apis::meta::v1::Time>,
) -> Result<Option<Time>, ConversionError> {
    let Some(time) = pb.filter(|time| time.seconds.is_some() || time.nanos.is_some()) else {
        return Ok(None);
    };
    let seconds = time.seconds.unwrap_or(0);
    k8s_openapi::jiff::Timestamp::from_second(seconds)
        .map(|timestamp| Some(Time(timestamp)))
        .map_err(|err| ConversionError::new(format_args!("Time of {seconds} seconds: {err}")))
}

/// The field of a message: the k8s-openapi field's name, or the other name k8s-pb gives it.
macro_rules! field {
    ($message:ident, $field:ident) => {
        $message.$field
    };
    ($message:ident, $field:ident, $pb_field:ident) => {
        $message.$pb_field
    };
}

/// Implements [`FromProtobuf`] for k8s-openapi structs from the list of their fields, each with
/// the rule that converts it (`opt`, `omit`, `req`, `list`, `req_list`, `map`, `time`; `a as b`
/// when k8s-pb calls it `b`). `..embedded { ... }` lists the fields Go inlines from an embedded
/// struct into the JSON object (a `Volume`'s `VolumeSource`), which k8s-pb keeps as a message.
macro_rules! convert {
    ($(
        $oa:ident :: $ty:ident = $pb:ident :: $pb_ty:ident {
            $($field:ident $(as $pb_field:ident)?: $how:ident,)*
            $(..$embedded:ident { $($inner:ident $(as $pb_inner:ident)?: $inner_how:ident,)* })*
        }
    )*) => {$(
        impl crate::object::openapi::FromProtobuf for $oa::$ty {
            type Message = $pb::$pb_ty;

            fn from_protobuf(
                message: Self::Message,
            ) -> Result<Self, crate::object::openapi::ConversionError> {
                $(let $embedded = message.$embedded.unwrap_or_default();)*
                Ok(Self {
                    $($field: $how(field!(message, $field $(, $pb_field)?))
                        .map_err(|err| err.within(stringify!($field)))?,)*
                    $($($inner: $inner_how(field!($embedded, $inner $(, $pb_inner)?))
                        .map_err(|err| err.within(stringify!($inner)))?,)*)*
                })
            }
        }
    )*};
}

use {convert, field};

#[cfg(test)]
mod tests;
