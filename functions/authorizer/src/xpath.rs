//! XPath 1.0 over validation responses: `xpath-eval`'s evaluator on a `roxmltree` document.
//!
//! roxmltree parses with its safe defaults (no DTD, so no entity expansion) and a node
//! limit; the adapter below only presents its tree as XPath's data model.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use xpath_eval::{EvaluationContext, ExpandedName, Node, NodeKind, Value};

/// The most nodes a validation response may have.
pub const NODES_LIMIT: u32 = 20_000;

/// A compiled XPath expression with the namespace prefixes it may use.
#[derive(Debug, Clone)]
pub struct XPathExpr {
    expr: xpath_eval::Expr,
}

/// An XML document that failed to parse, or was refused (DTD, too many nodes).
#[derive(Debug, thiserror::Error)]
#[error("the XML response is not usable: {0}")]
pub struct XmlError(String);

impl XPathExpr {
    /// Compiles an expression, or says why it is not XPath 1.0.
    pub fn compile(source: &str) -> Result<Self, String> {
        xpath_eval::parse(source)
            .map(|expr| Self { expr })
            .map_err(|e| format!("{e:?}"))
    }

    /// Evaluates the expression against a document, as XPath's `string()` would, or
    /// `None` when it selects no node (which injects nothing).
    pub fn evaluate(
        &self,
        document: &roxmltree::Document<'_>,
        namespaces: &BTreeMap<String, String>,
    ) -> Option<String> {
        let lookup = |prefix: &str| namespaces.get(prefix).cloned();
        let mut context = EvaluationContext::new(XNode::Tree(document.root()));
        context.namespaces = Some(&lookup);
        match xpath_eval::evaluate(&self.expr, &context).ok()? {
            Value::NodeSet(nodes) if nodes.is_empty() => None,
            value => Some(value.to_xpath_string()),
        }
    }
}

/// Parses XML with roxmltree's safe defaults: a DTD is refused, and so is a document with
/// more than [`NODES_LIMIT`] nodes.
pub fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, XmlError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| XmlError(e.to_string()))
}

/// A roxmltree node, attribute or namespace, seen as an XPath node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XNode<'a> {
    Tree(roxmltree::Node<'a, 'a>),
    Attribute(roxmltree::Node<'a, 'a>, usize),
    Namespace(roxmltree::Node<'a, 'a>, usize),
}

impl<'a> XNode<'a> {
    /// Document order: a node, then its namespaces, then its attributes, then its
    /// children, whose ids roxmltree assigns in document order after their parent's.
    fn order_key(self) -> (usize, u8, usize) {
        match self {
            Self::Tree(n) => (n.id().get_usize(), 0, 0),
            Self::Namespace(n, i) => (n.id().get_usize(), 1, i),
            Self::Attribute(n, i) => (n.id().get_usize(), 2, i),
        }
    }

    fn attribute(
        owner: roxmltree::Node<'a, 'a>,
        index: usize,
    ) -> Option<roxmltree::Attribute<'a, 'a>> {
        owner.attributes().nth(index)
    }

    fn namespace(
        owner: roxmltree::Node<'a, 'a>,
        index: usize,
    ) -> Option<&'a roxmltree::Namespace<'a>> {
        owner.namespaces().nth(index)
    }
}

impl<'a> Node<'a> for XNode<'a> {
    fn kind(self) -> NodeKind {
        use roxmltree::NodeType;
        match self {
            Self::Tree(n) => match n.node_type() {
                NodeType::Root => NodeKind::Root,
                NodeType::Element => NodeKind::Element,
                NodeType::PI => NodeKind::ProcessingInstruction,
                NodeType::Comment => NodeKind::Comment,
                NodeType::Text => NodeKind::Text,
            },
            Self::Attribute(..) => NodeKind::Attribute,
            Self::Namespace(..) => NodeKind::Namespace,
        }
    }

    fn parent(self) -> Option<Self> {
        match self {
            Self::Tree(n) => n.parent().map(Self::Tree),
            Self::Attribute(owner, _) | Self::Namespace(owner, _) => Some(Self::Tree(owner)),
        }
    }

    fn children(self) -> impl Iterator<Item = Self> + 'a {
        let node = match self {
            Self::Tree(n) => Some(n),
            _ => None,
        };
        node.into_iter().flat_map(|n| n.children()).map(Self::Tree)
    }

    fn attributes(self) -> impl Iterator<Item = Self> + 'a {
        let (owner, count) = match self {
            Self::Tree(n) if n.is_element() => (Some(n), n.attributes().len()),
            _ => (None, 0),
        };
        owner
            .into_iter()
            .flat_map(move |n| (0..count).map(move |i| Self::Attribute(n, i)))
    }

    fn namespaces(self) -> impl Iterator<Item = Self> + 'a {
        let (owner, count) = match self {
            Self::Tree(n) if n.is_element() => (Some(n), n.namespaces().count()),
            _ => (None, 0),
        };
        owner
            .into_iter()
            .flat_map(move |n| (0..count).map(move |i| Self::Namespace(n, i)))
    }

    fn expanded_name(self) -> Option<ExpandedName> {
        let name = |ns: Option<&str>, local: &str| ExpandedName {
            namespace_uri: ns.map(str::to_owned),
            local_name: local.to_owned(),
        };
        match self {
            Self::Tree(n) if n.is_element() => {
                let tag = n.tag_name();
                Some(name(tag.namespace(), tag.name()))
            }
            Self::Tree(n) => n.pi().map(|pi| name(None, pi.target)),
            Self::Attribute(owner, i) => {
                Self::attribute(owner, i).map(|a| name(a.namespace(), a.name()))
            }
            Self::Namespace(owner, i) => {
                Self::namespace(owner, i).map(|ns| name(None, ns.name().unwrap_or("")))
            }
        }
    }

    fn string_value(self) -> String {
        match self {
            Self::Tree(n) if n.is_root() || n.is_element() => n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect(),
            Self::Tree(n) => match n.pi() {
                Some(pi) => pi.value.unwrap_or("").to_owned(),
                None => n.text().unwrap_or("").to_owned(),
            },
            Self::Attribute(owner, i) => Self::attribute(owner, i)
                .map(|a| a.value().to_owned())
                .unwrap_or_default(),
            Self::Namespace(owner, i) => Self::namespace(owner, i)
                .map(|ns| ns.uri().to_owned())
                .unwrap_or_default(),
        }
    }

    fn document_order(self, other: Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<u:user xmlns:u="urn:example:user" id="42">
  <u:name>Claes Rosenlöf</u:name>
  <u:org unit="lib">Example U</u:org>
  <u:group>a</u:group><u:group>b</u:group>
</u:user>"#;

    fn eval(path: &str) -> Option<String> {
        let document = parse_xml(USER).unwrap();
        let namespaces = BTreeMap::from([("u".to_owned(), "urn:example:user".to_owned())]);
        XPathExpr::compile(path)
            .unwrap()
            .evaluate(&document, &namespaces)
    }

    #[test]
    fn namespaced_paths_attributes_text_and_functions_evaluate() {
        assert_eq!(eval("/u:user/u:name").as_deref(), Some("Claes Rosenlöf"));
        assert_eq!(eval("/u:user/@id").as_deref(), Some("42"));
        assert_eq!(eval("/u:user/u:org/text()").as_deref(), Some("Example U"));
        assert_eq!(eval("string(/u:user/u:org/@unit)").as_deref(), Some("lib"));
        assert_eq!(eval("count(//u:group)").as_deref(), Some("2"));
        assert_eq!(eval("//u:group[2]").as_deref(), Some("b"));
        assert_eq!(eval("//u:group[. = 'a']").as_deref(), Some("a"));
    }

    #[test]
    fn a_path_that_selects_nothing_yields_nothing() {
        assert_eq!(eval("/u:user/u:email"), None);
        assert_eq!(
            eval("/user/name"),
            None,
            "unprefixed names are in no namespace"
        );
    }

    #[test]
    fn a_dtd_is_refused_so_entity_bombs_never_expand() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
        assert!(parse_xml(bomb).is_err());
    }

    #[test]
    fn a_document_over_the_node_limit_is_refused() {
        let big = format!("<a>{}</a>", "<b/>".repeat(NODES_LIMIT as usize + 1));
        assert!(parse_xml(&big).is_err());
    }

    #[test]
    fn an_expression_that_is_not_xpath_is_refused_at_compile_time() {
        assert!(XPathExpr::compile("/user[").is_err());
        assert!(XPathExpr::compile("///").is_err());
    }
}
