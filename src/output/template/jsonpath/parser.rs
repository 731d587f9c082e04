//! The parser that builds the syntax tree (`node`): client-go's
//! `util/jsonpath/parser.go`, token for token, with its messages.
//!
//! The Go parser calls itself for every token; this one loops over a state (in text, in an
//! action), so a long template cannot exhaust the stack. Go parses some pieces again on their
//! own (a union's members, a filter's sides, a `['key']`); those sub-parses nest at most
//! [`MAX_NESTING`] deep (no template kubectl accepts comes close).

use super::node::{Filter, Literal, Node, Param};
use super::unquote::unquote;
use crate::output::template::go_fmt;

/// How deep sub-parses (filters, unions, `['key']`) may nest before the template is refused.
const MAX_NESTING: usize = 8;

/// Parses `text` into the template's top-level nodes (texts and actions); the error is
/// kubectl's message (`unclosed action`).
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, String> {
    Parser::new(text, 0).run()
}

/// Where the parser is.
enum State {
    /// Outside braces.
    Text,
    /// Inside `{...}`.
    Action,
}

/// Go's `Parser`: the input, the current rune and the start of the pending token.
struct Parser<'t> {
    /// The template.
    input: &'t str,
    /// The byte after the last rune read.
    pos: usize,
    /// Where the pending token starts.
    start: usize,
    /// The byte length of the last rune read (0 at the end), for `backup`.
    width: usize,
    /// How many sub-parses enclose this one.
    nesting: usize,
    /// The finished top-level nodes.
    root: Vec<Node>,
    /// The action being parsed.
    action: Vec<Node>,
}

impl<'t> Parser<'t> {
    /// A parser for `input`, `nesting` sub-parses deep.
    fn new(input: &'t str, nesting: usize) -> Self {
        Parser {
            input,
            pos: 0,
            start: 0,
            width: 0,
            nesting,
            root: Vec::new(),
            action: Vec::new(),
        }
    }

    /// Parses the whole input (Go's `parseText`, `parseInsideAction` and their tail calls).
    fn run(mut self) -> Result<Vec<Node>, String> {
        let mut state = State::Text;
        loop {
            state = match state {
                State::Text => match self.input[self.pos..].find('{') {
                    Some(offset) => {
                        self.pos += offset;
                        self.flush_text();
                        self.pos += 1;
                        self.consume();
                        State::Action
                    }
                    None => {
                        self.pos = self.input.len();
                        self.flush_text();
                        return Ok(self.root);
                    }
                },
                State::Action => self.action_step()?,
            };
        }
    }

    /// Adds the text read since the last token as a node, if there is any.
    fn flush_text(&mut self) {
        if self.pos > self.start {
            let text = self.consume();
            self.root
                .push(Node::Text(Literal(text.as_bytes().to_vec().into())));
        }
    }

    /// One token inside an action (Go's `parseInsideAction`).
    fn action_step(&mut self) -> Result<State, String> {
        let rest = &self.input[self.pos..];
        if rest.starts_with('}') {
            self.pos += 1;
            self.consume();
            let action = std::mem::take(&mut self.action);
            self.root.push(Node::List(action));
            return Ok(State::Text);
        }
        if rest.starts_with("[?(") {
            self.filter()?;
            return Ok(State::Action);
        }
        if rest.starts_with("..") {
            self.recursive()?;
            return Ok(State::Action);
        }
        match self.next() {
            None | Some('\r' | '\n') => return Err("unclosed action".to_owned()),
            Some(' ' | '@' | '$') => {
                self.consume();
            }
            Some('[') => self.array()?,
            Some(quote @ ('"' | '\'')) => self.quoted(quote)?,
            Some('.') => self.field(),
            Some(c) if c == '+' || c == '-' || is_digit(c) => {
                self.backup();
                self.number()?;
            }
            Some(c) if is_alphanumeric(c) => {
                self.backup();
                self.identifier();
            }
            Some(c) => {
                return Err(format!(
                    "unrecognized character in action: {}",
                    go_fmt::unicode_verbose(c)
                ));
            }
        }
        Ok(State::Action)
    }

    /// The next rune, or `None` at the end.
    fn next(&mut self) -> Option<char> {
        match self.input[self.pos..].chars().next() {
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
            None => {
                self.width = 0;
                None
            }
        }
    }

    /// The next rune, not consumed.
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    /// Steps back over the last rune read.
    fn backup(&mut self) {
        self.pos -= self.width;
    }

    /// The token read since the last one.
    fn consume(&mut self) -> &'t str {
        let text = &self.input[self.start..self.pos];
        self.start = self.pos;
        text
    }

    /// The byte `back` bytes before the current position.
    fn byte_before(&self, back: usize) -> Option<u8> {
        let index = self.pos.checked_sub(back)?;
        self.input.as_bytes().get(index).copied()
    }

    /// A word: `true`, `false`, or an identifier such as `range`.
    fn identifier(&mut self) {
        while !is_terminator(self.next()) {}
        self.backup();
        let node = match self.consume() {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            word => Node::Identifier(word.to_owned()),
        };
        self.action.push(node);
    }

    /// `..`, and the field right after it.
    fn recursive(&mut self) -> Result<(), String> {
        if self.action.last() == Some(&Node::Recursive) {
            return Err("invalid multiple recursive descent".to_owned());
        }
        self.pos += 2;
        self.consume();
        self.action.push(Node::Recursive);
        if self.peek().is_some_and(is_alphanumeric) {
            self.field();
        }
        Ok(())
    }

    /// A number: an integer if Go's `Atoi` takes it, else a float.
    fn number(&mut self) -> Result<(), String> {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        loop {
            match self.next() {
                Some(c) if c == '.' || is_digit(c) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        let text = self.consume();
        if let Some(int) = atoi(text) {
            self.action.push(Node::Int(int));
        } else if let Some(float) = parse_float(text) {
            self.action.push(Node::Float(float));
        } else {
            return Err(format!("cannot parse number {text}"));
        }
        Ok(())
    }

    /// `[...]`: a union, a `'key'`, or a slice.
    fn array(&mut self) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".to_owned()),
                Some(']') => break,
                Some(_) => {}
            }
        }
        let text = self.consume();
        let mut inner = &text[1..text.len() - 1];
        if inner == "*" {
            inner = ":";
        }
        if inner.contains(',') {
            let mut members = Vec::new();
            for member in inner.split(',') {
                let member = format!("[{}]", member.trim_matches(' '));
                members.push(self.sub_action(&member)?);
            }
            self.action.push(Node::Union(members));
            return Ok(());
        }
        if let Some(key) = dict_key(inner) {
            let nodes = self.sub_action(&format!(".{key}"))?;
            self.action.extend(nodes);
            return Ok(());
        }
        let params = slice_params(inner)?;
        self.action.push(Node::Array(params));
        Ok(())
    }

    /// `[?(...)]`.
    fn filter(&mut self) -> Result<(), String> {
        self.pos += 3;
        self.consume();
        let (mut begin, mut end, mut pair) = (false, false, '\0');
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated filter".to_owned()),
                Some(quote @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = quote;
                        continue;
                    }
                    if self.byte_before(2) != Some(b'\\') && quote == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                Some(_) => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".to_owned());
        }
        let text = self.consume();
        let text = &text[..text.len() - 2];
        let filter = match split_comparison(text) {
            None => Filter {
                left: self.sub_action(text)?,
                right: Vec::new(),
                operator: "exists".to_owned(),
            },
            Some((left, operator, right)) => Filter {
                left: self.sub_action(left)?,
                right: self.sub_action(right)?,
                operator: operator.to_owned(),
            },
        };
        self.action.push(Node::Filter(Box::new(filter)));
        Ok(())
    }

    /// A quoted string, unquoted as Go's `UnquoteExtend` does.
    fn quoted(&mut self, quote: char) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".to_owned()),
                Some(c) if c == quote && self.byte_before(2) != Some(b'\\') => break,
                Some(_) => {}
            }
        }
        let text = self.consume();
        let bytes =
            unquote(text).map_err(|()| format!("unquote string {text} error invalid syntax"))?;
        self.action.push(Node::Text(Literal(bytes.into())));
        Ok(())
    }

    /// A field after `.` (or `..`): up to the next unescaped terminator, `\` removed.
    fn field(&mut self) {
        self.consume();
        loop {
            match self.next() {
                Some('\\') => {
                    self.next();
                }
                c if is_terminator(c) => {
                    self.backup();
                    break;
                }
                _ => {}
            }
        }
        let node = match self.consume() {
            "*" => Node::Wildcard,
            name => Node::Field(name.replace('\\', "")),
        };
        self.action.push(node);
    }

    /// Go's `parseAction`: `text` parsed on its own as `{text}`, its first action's nodes.
    fn sub_action(&self, text: &str) -> Result<Vec<Node>, String> {
        if self.nesting >= MAX_NESTING {
            return Err("template nested too deeply".to_owned());
        }
        let wrapped = format!("{{{text}}}");
        let nodes = Parser::new(&wrapped, self.nesting + 1).run()?;
        match nodes.into_iter().next() {
            Some(Node::List(nodes)) => Ok(nodes),
            _ => Err("unclosed action".to_owned()),
        }
    }
}

/// Go's `isTerminator`: what ends a field or a word (`None` is the end of the template).
fn is_terminator(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => matches!(
            c,
            ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
        ),
    }
}

/// Go's `unicode.IsDigit`: ASCII digits in Latin-1, numeric characters beyond.
fn is_digit(c: char) -> bool {
    if u32::from(c) <= 0xff {
        c.is_ascii_digit()
    } else {
        c.is_numeric()
    }
}

/// Go's `isAlphaNumeric`: `_`, a letter or a digit.
fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || is_digit(c)
}

/// Go's `strconv.Atoi`: an optional sign and ASCII digits that fit an `int`.
fn atoi(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Go's `strconv.ParseFloat` on what [`Parser::number`] reads (a sign, digits and dots):
/// out of range is an error there too.
fn parse_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !unsigned.bytes().any(|b| b.is_ascii_digit())
        || !unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|float| float.is_finite())
}

/// Go's `dictKeyRex`, `^'([^']*)'$`: the key of `['key']`.
fn dict_key(text: &str) -> Option<&str> {
    let key = text.strip_prefix('\'')?.strip_suffix('\'')?;
    (!key.contains('\'')).then_some(key)
}

/// Go's `sliceOperatorRex` and what `parseArray` makes of its groups.
fn slice_params(text: &str) -> Result<[Param; 3], String> {
    let invalid = || format!("invalid array index {text}");
    let groups: Vec<&str> = text.split(':').collect();
    if groups.len() > 3 || !groups.iter().all(|group| is_signed_digits(group)) {
        return Err(invalid());
    }
    let mut params = [Param::default(); 3];
    for index in 0..3 {
        match groups.get(index) {
            Some(group) if !group.is_empty() => {
                let value = group
                    .parse()
                    .map_err(|_| format!("array index {group} is not a number"))?;
                params[index] = Param {
                    value,
                    known: true,
                    derived: false,
                };
            }
            // `[i:]`: a colon and nothing after it.
            Some(_) if index > 0 => {}
            // `[i]` (or `[]`): the end is derived from the start.
            _ if index == 1 => {
                params[1] = Param {
                    value: params[0].value.wrapping_add(1),
                    known: true,
                    derived: true,
                };
            }
            _ => {}
        }
    }
    Ok(params)
}

/// `-?[0-9]*`.
fn is_signed_digits(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits.bytes().all(|b| b.is_ascii_digit())
}

/// Go's filter regexp `^([^!<>=]+)([!<>=]+)(.+?)$`: left side, operator, right side.
fn split_comparison(text: &str) -> Option<(&str, &str, &str)> {
    let is_operator = |c: char| matches!(c, '!' | '<' | '>' | '=');
    let left_end = text.find(is_operator)?;
    if left_end == 0 {
        return None;
    }
    let after = &text[left_end..];
    let run = after.find(|c| !is_operator(c)).unwrap_or(after.len());
    // The right side needs one character: an operator run reaching the end gives it its last.
    let operator_end = if run == after.len() { run - 1 } else { run };
    if operator_end == 0 {
        return None;
    }
    let right = &after[operator_end..];
    if right.contains('\n') {
        return None;
    }
    Some((&text[..left_end], &after[..operator_end], right))
}
