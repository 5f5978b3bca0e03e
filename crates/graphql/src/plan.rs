//! Query plans: `Fetch`, `Flatten`, `Sequence`, `Parallel` nodes with a readable `Display`.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use apollo_compiler::Name;
use apollo_compiler::executable::Operation;

use crate::planner::{Condition, Group};
use crate::sel::SelSet;
use crate::supergraph::{GraphId, Supergraph};

mod batch;
mod repeated;

/// One step of a response path where an entity fetch merges: a key, or every item of a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    Key(Name),
    List,
}

/// What an entity fetch reads from and writes to the response.
#[derive(Debug, Clone)]
pub struct EntityStep {
    /// Where its objects are: one place, or several when a plan step's fetches to one subgraph
    /// were batched into one request.
    pub sources: Vec<EntitySource>,
    /// The types asked of the subgraph (an interface for an interface entity).
    pub tys: Vec<Name>,
    pub inputs: SelSet,
    pub typename_as: Option<Name>,
}

/// One place in the response whose objects an entity fetch represents.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitySource {
    pub path: Vec<PathSeg>,
    /// Objects at `path` whose `__typename` is one of these take part.
    pub types: BTreeSet<Name>,
}

/// One request to one subgraph.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub graph: GraphId,
    pub service: String,
    /// The subgraph operation, ready to send.
    pub operation: String,
    pub variables: Vec<Name>,
    pub selection: SelSet,
    pub entity: Option<EntityStep>,
    /// Another entity fetch of the plan sends the same operation to the same subgraph: this
    /// one keeps its answers and looks for the representations the other was asked.
    pub repeated: bool,
}

/// A node of a query plan.
#[derive(Debug, Clone)]
pub enum PlanNode {
    Fetch(Arc<Fetch>),
    Sequence(Vec<PlanNode>),
    Parallel(Vec<PlanNode>),
    /// Runs `node` only when boolean `variable` is `include` (`@include`/`@skip` on a variable).
    Condition {
        variable: Name,
        include: bool,
        node: Box<PlanNode>,
    },
}

/// A query plan; `None` root when no subgraph is needed (introspection only).
#[derive(Debug, Clone)]
pub struct Plan {
    pub root: Option<PlanNode>,
}

impl PlanNode {
    /// Calls `f` with every fetch below this node, in plan order.
    pub(crate) fn each_fetch<'a>(&'a self, f: &mut impl FnMut(&'a Arc<Fetch>)) {
        match self {
            PlanNode::Fetch(fetch) => f(fetch),
            PlanNode::Sequence(n) | PlanNode::Parallel(n) => n.iter().for_each(|n| n.each_fetch(f)),
            PlanNode::Condition { node, .. } => node.each_fetch(f),
        }
    }

    /// This node with every fetch below it replaced by `f(fetch)`, in plan order.
    pub(crate) fn map_fetches(self, f: &mut impl FnMut(Arc<Fetch>) -> Arc<Fetch>) -> PlanNode {
        match self {
            PlanNode::Fetch(fetch) => PlanNode::Fetch(f(fetch)),
            node => node.map_children(&mut |n| n.map_fetches(f)),
        }
    }

    /// This node with each node directly inside it replaced by `f(node)` (a fetch is returned
    /// as it is).
    pub(crate) fn map_children(self, f: &mut impl FnMut(PlanNode) -> PlanNode) -> PlanNode {
        match self {
            PlanNode::Fetch(fetch) => PlanNode::Fetch(fetch),
            PlanNode::Sequence(nodes) => PlanNode::Sequence(nodes.into_iter().map(f).collect()),
            PlanNode::Parallel(nodes) => PlanNode::Parallel(nodes.into_iter().map(f).collect()),
            PlanNode::Condition {
                variable,
                include,
                node,
            } => PlanNode::Condition {
                variable,
                include,
                node: Box::new(f(*node)),
            },
        }
    }
}

impl Plan {
    /// Number of subgraph fetches in the plan.
    pub fn fetch_count(&self) -> usize {
        let mut count = 0;
        if let Some(root) = &self.root {
            root.each_fetch(&mut |_| count += 1);
        }
        count
    }
}

/// Turns the planner's fetch groups into a plan: a tree of fetches when each depends on at most
/// one other (children of a fetch run in parallel after it), else dependency levels.
pub(crate) fn build(sg: &Supergraph, operation: &Operation, groups: Vec<Group>) -> Plan {
    let fetches: Vec<Arc<Fetch>> = groups
        .iter()
        .map(|g| Arc::new(fetch(sg, operation, g)))
        .collect();
    let is_tree = groups.iter().all(|g| g.deps.len() <= 1);
    if is_tree && !operation.is_mutation() {
        let roots: Vec<PlanNode> = (0..groups.len())
            .filter(|g| groups[*g].deps.is_empty())
            .filter_map(|g| subtree(g, &groups, &fetches))
            .map(|(g, node)| conditioned(node, &groups[g].conditions, &[]))
            .collect();
        let root = (!roots.is_empty()).then(|| collapse(roots, PlanNode::Parallel));
        return Plan {
            root: root.map(|r| repeated::mark(batch::batch(r, operation))),
        };
    }
    let plan = leveled(groups, fetches);
    Plan {
        root: plan
            .root
            .map(|r| repeated::mark(batch::batch(r, operation))),
    }
}

/// A fetch followed by (in parallel) the fetches that depend on it alone, each child wrapped in
/// the conditions it adds to its parent's.
fn subtree(g: usize, groups: &[Group], fetches: &[Arc<Fetch>]) -> Option<(usize, PlanNode)> {
    let children: Vec<PlanNode> = (0..groups.len())
        .filter(|c| *c != g && groups[*c].deps.contains(&g))
        .filter_map(|c| subtree(c, groups, fetches))
        .map(|(c, node)| conditioned(node, &groups[c].conditions, &groups[g].conditions))
        .collect();
    let own = (!groups[g].sel.is_empty_fetch()).then(|| PlanNode::Fetch(fetches[g].clone()));
    let mut nodes: Vec<PlanNode> = own.into_iter().collect();
    if !children.is_empty() {
        nodes.push(collapse(children, PlanNode::Parallel));
    }
    (!nodes.is_empty()).then(|| (g, collapse(nodes, PlanNode::Sequence)))
}

/// `node` inside a `Condition` for each of `conditions` not already in `outer`.
fn conditioned(node: PlanNode, conditions: &[Condition], outer: &[Condition]) -> PlanNode {
    conditions
        .iter()
        .rev()
        .filter(|c| !outer.contains(c))
        .fold(node, |node, c| PlanNode::Condition {
            variable: c.variable.clone(),
            include: c.include,
            node: Box::new(node),
        })
}

/// Fetches in dependency levels: each level in parallel, levels in sequence (any DAG).
fn leveled(groups: Vec<Group>, fetches: Vec<Arc<Fetch>>) -> Plan {
    let levels = levels(&groups);
    let depth = levels.iter().copied().max().map_or(0, |d| d + 1);
    let stages: Vec<PlanNode> = (0..depth)
        .map(|level| {
            let nodes: Vec<PlanNode> = (0..groups.len())
                .filter(|g| levels[*g] == level)
                .filter(|g| !groups[*g].sel.is_empty_fetch())
                .map(|g| PlanNode::Fetch(fetches[g].clone()))
                .collect();
            collapse(nodes, PlanNode::Parallel)
        })
        .filter(|n| !matches!(n, PlanNode::Parallel(v) if v.is_empty()))
        .collect();
    let root = (!stages.is_empty()).then(|| collapse(stages, PlanNode::Sequence));
    Plan { root }
}

fn collapse(mut nodes: Vec<PlanNode>, wrap: fn(Vec<PlanNode>) -> PlanNode) -> PlanNode {
    if nodes.len() == 1 {
        nodes.pop().expect("one node")
    } else {
        wrap(nodes)
    }
}

/// Dependency level of each group: 0 without dependencies, else one more than its deepest.
fn levels(groups: &[Group]) -> Vec<usize> {
    let mut levels = vec![None; groups.len()];
    fn level(g: usize, groups: &[Group], levels: &mut Vec<Option<usize>>, seen: usize) -> usize {
        if let Some(l) = levels[g] {
            return l;
        }
        let l = if seen > groups.len() {
            0
        } else {
            groups[g]
                .deps
                .iter()
                .filter(|d| **d != g)
                .map(|d| level(*d, groups, levels, seen + 1) + 1)
                .max()
                .unwrap_or(0)
        };
        levels[g] = Some(l);
        l
    }
    (0..groups.len())
        .map(|g| level(g, groups, &mut levels, 0))
        .collect()
}

fn fetch(sg: &Supergraph, operation: &Operation, group: &Group) -> Fetch {
    let (text, variables) = operation_text(operation, &group.sel, group.entity.is_some());
    Fetch {
        graph: group.graph,
        service: sg.subgraphs[group.graph].name.clone(),
        operation: text,
        variables,
        selection: group.sel.clone(),
        entity: group.entity.as_ref().map(|e| EntityStep {
            sources: vec![EntitySource {
                path: e.path.clone(),
                // Objects may still carry the interface's name (from an `@interfaceObject`).
                types: e
                    .tys
                    .iter()
                    .flat_map(|t| sg.all_possible_types(t).into_iter().chain([t.clone()]))
                    .collect(),
            }],
            tys: e.tys.clone(),
            inputs: e.inputs.clone(),
            typename_as: e.typename_as.clone(),
        }),
        repeated: false,
    }
}

/// The subgraph operation for `sel` (inside `_entities` for an entity fetch), and the client
/// variables it uses.
fn operation_text(operation: &Operation, sel: &SelSet, entity: bool) -> (String, Vec<Name>) {
    let mut variables = Vec::new();
    sel.variables(&mut variables);
    let definitions: Vec<String> = operation
        .variables
        .iter()
        .filter(|v| variables.contains(&v.name))
        .map(|v| v.to_string())
        .collect();
    let mut text = String::new();
    let kind = if !entity && operation.is_mutation() {
        "mutation"
    } else {
        "query"
    };
    text.push_str(kind);
    let mut params = Vec::new();
    if entity {
        params.push("$representations: [_Any!]!".to_owned());
    }
    params.extend(definitions);
    if !params.is_empty() {
        let _ = write!(text, "({})", params.join(", "));
    }
    text.push(' ');
    if entity {
        text.push_str("{ _entities(representations: $representations) ");
        sel.write(&mut text);
        text.push_str(" }");
    } else {
        sel.write(&mut text);
    }
    (text, variables)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "QueryPlan {{")?;
        if let Some(root) = &self.root {
            write_node(f, root, 2)?;
        }
        writeln!(f, "}}")
    }
}

fn write_node(f: &mut dyn fmt::Write, node: &PlanNode, indent: usize) -> fmt::Result {
    let pad = " ".repeat(indent);
    match node {
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
            let label = if matches!(node, PlanNode::Sequence(_)) {
                "Sequence"
            } else {
                "Parallel"
            };
            writeln!(f, "{pad}{label} {{")?;
            for n in nodes {
                write_node(f, n, indent + 2)?;
            }
            writeln!(f, "{pad}}},")
        }
        PlanNode::Condition {
            variable,
            include,
            node,
        } => {
            let word = if *include { "Include" } else { "Skip" };
            writeln!(f, "{pad}{word}(if: ${variable}) {{")?;
            write_node(f, node, indent + 2)?;
            writeln!(f, "{pad}}},")
        }
        PlanNode::Fetch(fetch) => match &fetch.entity {
            None => write_fetch(f, fetch, indent),
            Some(entity) => {
                let paths: Vec<String> = entity
                    .sources
                    .iter()
                    .map(|s| format!("\"{}\"", path_text(&s.path)))
                    .collect();
                match paths.as_slice() {
                    [one] => writeln!(f, "{pad}Flatten(path: {one}) {{")?,
                    many => writeln!(f, "{pad}Flatten(paths: [{}]) {{", many.join(", "))?,
                }
                write_fetch(f, fetch, indent + 2)?;
                writeln!(f, "{pad}}},")
            }
        },
    }
}

fn write_fetch(f: &mut dyn fmt::Write, fetch: &Fetch, indent: usize) -> fmt::Result {
    let pad = " ".repeat(indent);
    writeln!(f, "{pad}Fetch(service: \"{}\") {{", fetch.service)?;
    if let Some(entity) = &fetch.entity {
        write!(f, "{pad}  ")?;
        entity.inputs.write_pretty(f, indent + 2)?;
        writeln!(f, "{pad}  =>")?;
    }
    write!(f, "{pad}  ")?;
    fetch.selection.write_pretty(f, indent + 2)?;
    writeln!(f, "{pad}}},")
}

/// A response path as Apollo prints it: `topProducts.@.reviews.@`.
pub fn path_text(path: &[PathSeg]) -> String {
    path.iter()
        .map(|s| match s {
            PathSeg::Key(k) => k.as_str(),
            PathSeg::List => "@",
        })
        .collect::<Vec<_>>()
        .join(".")
}
