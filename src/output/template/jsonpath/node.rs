//! The template's syntax tree: client-go's `util/jsonpath/node.go`.

/// A literal string from the template. Escapes such as `\xff` make it any bytes, not UTF-8.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Literal(pub(crate) Box<[u8]>);

/// One bound of a slice `[start:end:step]`, as Go's `ParamsEntry`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Param {
    /// The number, or what the parser derived.
    pub(crate) value: i64,
    /// Whether the template gave it (or the parser derived it).
    pub(crate) known: bool,
    /// The end of `[i]`, derived as `i + 1`.
    pub(crate) derived: bool,
}

/// A node of the syntax tree (Go's `node.go`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// Text to print: outside braces, or a quoted string inside them.
    Text(Literal),
    /// One `{...}` action: its nodes apply one after the other.
    List(Vec<Node>),
    /// `.name`: a map's key.
    Field(String),
    /// A bare word: `range`, `end`, or an unknown one (an error when run).
    Identifier(String),
    /// `[i]`, `[start:end:step]`, `[*]`.
    Array([Param; 3]),
    /// `[?(left OP right)]`, or `[?(path)]` (the operator is then `exists`).
    Filter(Box<Filter>),
    /// A number that parsed as an integer.
    Int(i64),
    /// A number that parsed only as a float.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `.*`.
    Wildcard,
    /// `..`.
    Recursive,
    /// `[a,b]`: each member applies to the same input.
    Union(Vec<Vec<Node>>),
}

/// A filter's sides and operator.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter {
    /// Applied to each item; must give one value (or, for `exists`, any).
    pub(crate) left: Vec<Node>,
    /// The value compared with; empty for `exists`.
    pub(crate) right: Vec<Node>,
    /// `==`, `!=`, `<`, `>`, `<=`, `>=`, `exists`, or whatever run of `!<>=` the template had.
    pub(crate) operator: String,
}
