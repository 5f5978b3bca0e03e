//! Printing the merged model as a supergraph SDL in the layout Apollo's composition uses.

use std::fmt::Write;

use apollo_compiler::Name;

use crate::model::{Graph, Kind, Marks, MergedField, MergedType};
use crate::prelude::INACCESSIBLE_LOCATIONS;
use crate::subgraph::Parsed;

const HEADER_DIRECTIVES: &str = r#"directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
"#;

const LINK_PURPOSE: &str = r#"enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}
"#;

const JOIN_CONTEXT_ARGUMENT: &str = "input join__ContextArgument {\n  name: String!\n  type: String!\n  context: String!\n  selection: join__FieldValue!\n}\n";

/// The enum value naming each subgraph in `join__Graph` (`my-graph` -> `MY_GRAPH`), unique.
pub(crate) fn graph_enum_values(graphs: &[Parsed]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(graphs.len());
    for g in graphs {
        let mut base: String = g
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        if base.starts_with(|c: char| c.is_ascii_digit()) || base.is_empty() {
            base.insert(0, '_');
        }
        let mut value = base.clone();
        let mut n = 1;
        while out.contains(&value) || matches!(value.as_str(), "TRUE" | "FALSE" | "NULL") {
            value = format!("{base}_{n}");
            n += 1;
        }
        out.push(value);
    }
    out
}

/// Prints the supergraph.
pub(crate) fn print(graphs: &[Parsed], types: &[&MergedType]) -> String {
    let enums = graph_enum_values(graphs);
    let uses = |f: &dyn Fn(&Marks) -> bool| types.iter().any(|t| type_uses(t, f));
    let inaccessible = uses(&|m| m.inaccessible);
    let tag = uses(&|m| !m.tags.is_empty());
    let mut out = String::with_capacity(types.len() * 256);
    out.push_str("schema\n  @link(url: \"https://specs.apollo.dev/link/v1.0\")\n  @link(url: \"https://specs.apollo.dev/join/v0.5\", for: EXECUTION)\n");
    if tag {
        out.push_str("  @link(url: \"https://specs.apollo.dev/tag/v0.3\")\n");
    }
    if inaccessible {
        out.push_str(
            "  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n",
        );
    }
    out.push_str("{\n");
    for root in ["query", "mutation", "subscription"] {
        let name = format!("{}{}", root[..1].to_uppercase(), &root[1..]);
        if types.iter().any(|t| t.name == name.as_str()) {
            let _ = writeln!(out, "  {root}: {name}");
        }
    }
    out.push_str("}\n\n");
    if inaccessible {
        let _ = writeln!(out, "directive @inaccessible on {INACCESSIBLE_LOCATIONS}\n");
    }
    out.push_str(HEADER_DIRECTIVES);
    if tag {
        let _ = writeln!(
            out,
            "\ndirective @tag(name: String!) repeatable on {INACCESSIBLE_LOCATIONS} | SCHEMA"
        );
    }
    let mut blocks: Vec<(String, String)> = types
        .iter()
        .map(|t| (t.name.to_string(), print_type(t, &enums)))
        .collect();
    let mut graph_enum = String::from("enum join__Graph {\n");
    for (g, value) in graphs.iter().zip(&enums) {
        let _ = writeln!(
            graph_enum,
            "  {value} @join__graph(name: {}, url: {})",
            quote(&g.name),
            quote(&g.url)
        );
    }
    graph_enum.push_str("}\n");
    for (name, text) in [
        ("join__ContextArgument", JOIN_CONTEXT_ARGUMENT.to_owned()),
        (
            "join__DirectiveArguments",
            "scalar join__DirectiveArguments\n".to_owned(),
        ),
        ("join__FieldSet", "scalar join__FieldSet\n".to_owned()),
        ("join__FieldValue", "scalar join__FieldValue\n".to_owned()),
        ("join__Graph", graph_enum),
        ("link__Import", "scalar link__Import\n".to_owned()),
        ("link__Purpose", LINK_PURPOSE.to_owned()),
    ] {
        blocks.push((name.to_owned(), text));
    }
    blocks.sort_by_cached_key(|(name, _)| (name.to_lowercase(), name.clone()));
    for (_, text) in blocks {
        out.push('\n');
        out.push_str(&text);
    }
    out
}

fn type_uses(t: &MergedType, f: &dyn Fn(&Marks) -> bool) -> bool {
    f(&t.marks)
        || t.values.values().any(|v| f(&v.marks))
        || t.fields
            .values()
            .any(|x| f(&x.marks) || x.args.values().any(|a| f(&a.marks)))
}

fn print_type(t: &MergedType, enums: &[String]) -> String {
    let mut out = String::new();
    description(&mut out, t.description.as_deref(), "");
    let keyword = match t.kind {
        Kind::Object => "type",
        Kind::Interface => "interface",
        Kind::Union => "union",
        Kind::Enum => "enum",
        Kind::Input => "input",
        Kind::Scalar => "scalar",
    };
    let _ = write!(out, "{keyword} {}", t.name);
    if !t.implements.is_empty() {
        let names: Vec<&str> = t.implements.keys().map(Name::as_str).collect();
        let _ = write!(out, " implements {}", names.join(" & "));
    }
    out.push('\n');
    for (g, iface) in &t.implements_in {
        let _ = writeln!(
            out,
            "  @join__implements(graph: {}, interface: {})",
            enums[*g],
            quote(iface)
        );
    }
    for s in &t.sources {
        let mut extra = String::new();
        if s.extension {
            extra.push_str(", extension: true");
        }
        if s.interface_object {
            extra.push_str(", isInterfaceObject: true");
        }
        if s.keys.is_empty() {
            let _ = writeln!(out, "  @join__type(graph: {}{extra})", enums[s.graph]);
        }
        for (key, resolvable) in &s.keys {
            let r = if *resolvable {
                ""
            } else {
                ", resolvable: false"
            };
            let _ = writeln!(
                out,
                "  @join__type(graph: {}, key: {}{r}{extra})",
                enums[s.graph],
                quote(key)
            );
        }
    }
    for (g, member) in &t.members_in {
        let _ = writeln!(
            out,
            "  @join__unionMember(graph: {}, member: {})",
            enums[*g],
            quote(member)
        );
    }
    if let Some(url) = &t.specified_by {
        let _ = writeln!(out, "  @specifiedBy(url: {})", quote(url));
    }
    for m in marks(&t.marks) {
        let _ = writeln!(out, "  {m}");
    }
    match t.kind {
        Kind::Object | Kind::Interface | Kind::Input => {
            out.push_str("{\n");
            let graphs: Vec<Graph> = t.sources.iter().map(|s| s.graph).collect();
            for (i, (name, f)) in t.fields.iter().enumerate() {
                print_field(&mut out, name, f, &graphs, enums, i == 0);
            }
            out.push_str("}\n");
        }
        Kind::Enum => {
            out.push_str("{\n");
            for (i, (name, v)) in t.values.iter().enumerate() {
                if v.description.is_some() && i > 0 {
                    out.push('\n');
                }
                description(&mut out, v.description.as_deref(), "  ");
                let _ = write!(out, "  {name}");
                for g in &v.graphs {
                    let _ = write!(out, " @join__enumValue(graph: {})", enums[*g]);
                }
                for m in marks(&v.marks) {
                    let _ = write!(out, " {m}");
                }
                out.push('\n');
            }
            out.push_str("}\n");
        }
        Kind::Union => {
            let names: Vec<&str> = t.members.keys().map(Name::as_str).collect();
            let _ = writeln!(out, " = {}", names.join(" | "));
        }
        Kind::Scalar => {}
    }
    out
}

fn print_field(
    out: &mut String,
    name: &Name,
    f: &MergedField,
    graphs: &[Graph],
    enums: &[String],
    first: bool,
) {
    if f.description.is_some() && !first {
        out.push('\n');
    }
    description(out, f.description.as_deref(), "  ");
    let _ = write!(out, "  {name}");
    if !f.args.is_empty() {
        let args: Vec<String> = f.args.iter().map(|(n, a)| input_value(n, a)).collect();
        let _ = write!(out, "({})", args.join(", "));
    }
    let _ = write!(out, ": {}", f.ty);
    if let Some(default) = &f.default {
        let _ = write!(out, " = {default}");
    }
    if f.from_interface_object {
        out.push_str(" @join__field");
    } else if needs_join_field(f, graphs) {
        let typed = f.sources.iter().any(|s| s.ty != f.ty);
        for s in f.sources.iter().filter(|s| !s.dropped) {
            let _ = write!(out, " @join__field(graph: {}", enums[s.graph]);
            if let Some(r) = &s.requires {
                let _ = write!(out, ", requires: {}", quote(r));
            }
            if let Some(p) = &s.provides {
                let _ = write!(out, ", provides: {}", quote(p));
            }
            if typed {
                let _ = write!(out, ", type: {}", quote(&s.ty.to_string()));
            }
            if s.external {
                out.push_str(", external: true");
            }
            if let Some(from) = &s.override_from {
                let _ = write!(out, ", override: {}", quote(from));
            }
            if s.used_overridden {
                out.push_str(", usedOverridden: true");
            }
            if let Some(label) = &s.override_label {
                let _ = write!(out, ", overrideLabel: {}", quote(label));
            }
            out.push(')');
        }
    }
    for m in marks(&f.marks) {
        let _ = write!(out, " {m}");
    }
    out.push('\n');
}

/// A field needs `@join__field` unless every subgraph of its type defines it plainly.
fn needs_join_field(f: &MergedField, graphs: &[Graph]) -> bool {
    f.sources.len() != graphs.len()
        || f.sources.iter().any(|s| {
            s.ty != f.ty
                || s.external
                || s.requires.is_some()
                || s.provides.is_some()
                || s.override_from.is_some()
                || s.override_label.is_some()
                || s.used_overridden
                || s.dropped
        })
}

fn input_value(name: &Name, a: &MergedField) -> String {
    let mut s = String::new();
    if let Some(d) = &a.description {
        let _ = write!(s, "{} ", quote(d));
    }
    let _ = write!(s, "{name}: {}", a.ty);
    if let Some(default) = &a.default {
        let _ = write!(s, " = {default}");
    }
    for m in marks(&a.marks) {
        let _ = write!(s, " {m}");
    }
    s
}

fn marks(m: &Marks) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(reason) = &m.deprecated {
        out.push(match reason {
            Some(r) => format!("@deprecated(reason: {})", quote(r)),
            None => "@deprecated".to_owned(),
        });
    }
    if m.inaccessible {
        out.push("@inaccessible".to_owned());
    }
    for tag in &m.tags {
        out.push(format!("@tag(name: {})", quote(tag)));
    }
    out
}

fn description(out: &mut String, text: Option<&str>, indent: &str) {
    let Some(text) = text else { return };
    let escaped = text.replace("\"\"\"", "\\\"\"\"");
    if !escaped.contains('\n') && !escaped.ends_with(['"', '\\']) {
        let _ = writeln!(out, "{indent}\"\"\"{escaped}\"\"\"");
        return;
    }
    let _ = writeln!(out, "{indent}\"\"\"");
    for line in escaped.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    let _ = writeln!(out, "{indent}\"\"\"");
}

/// A GraphQL string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
