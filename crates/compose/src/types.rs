//! Merging one field's type across subgraphs: same named type and list shape; nullability may
//! differ (outputs become nullable if any subgraph is nullable, inputs non-null if any is).

use apollo_compiler::Name;
use apollo_compiler::ast::Type;

/// Where a type is used, which decides how nullability differences merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    Output,
    Input,
}

/// The supergraph type of two subgraph types, or `None` when they conflict.
pub(crate) fn merge(a: &Type, b: &Type, position: Position) -> Option<Type> {
    let non_null = match position {
        Position::Output => a.is_non_null() && b.is_non_null(),
        Position::Input => a.is_non_null() || b.is_non_null(),
    };
    let inner = match (a, b) {
        (Type::Named(x) | Type::NonNullNamed(x), Type::Named(y) | Type::NonNullNamed(y)) => {
            if x != y {
                return None;
            }
            Type::Named(x.clone())
        }
        (Type::List(x) | Type::NonNullList(x), Type::List(y) | Type::NonNullList(y)) => {
            Type::List(Box::new(merge(x, y, position)?))
        }
        _ => return None,
    };
    Some(if non_null { inner.non_null() } else { inner })
}

/// Whether two types have the same list structure (names and nullability aside).
pub(crate) fn same_shape(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Named(_) | Type::NonNullNamed(_), Type::Named(_) | Type::NonNullNamed(_)) => true,
        (Type::List(x) | Type::NonNullList(x), Type::List(y) | Type::NonNullList(y)) => {
            same_shape(x, y)
        }
        _ => false,
    }
}

/// `ty` with every named type passed through `rename`.
pub(crate) fn rename(ty: &Type, f: &impl Fn(&str) -> Option<Name>) -> Type {
    match ty {
        Type::Named(n) | Type::NonNullNamed(n) => match f(n) {
            Some(to) => {
                let t = Type::Named(to);
                if ty.is_non_null() { t.non_null() } else { t }
            }
            None => ty.clone(),
        },
        Type::List(inner) => Type::List(Box::new(rename(inner, f))),
        Type::NonNullList(inner) => Type::NonNullList(Box::new(rename(inner, f))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        Type::parse(s, "t").unwrap()
    }

    #[test]
    fn outputs_loosen_and_inputs_tighten() {
        let out = |a, b| merge(&ty(a), &ty(b), Position::Output).map(|t| t.to_string());
        let inp = |a, b| merge(&ty(a), &ty(b), Position::Input).map(|t| t.to_string());
        assert_eq!(out("String!", "String").as_deref(), Some("String"));
        assert_eq!(out("[Int!]!", "[Int]!").as_deref(), Some("[Int]!"));
        assert_eq!(inp("[Int!]", "[Int]!").as_deref(), Some("[Int!]!"));
        assert_eq!(out("String", "Int"), None);
        assert_eq!(out("[String]", "String"), None);
    }
}
