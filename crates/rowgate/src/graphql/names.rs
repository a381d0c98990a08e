//! GraphQL names derived from table and column names (api.md "Names").

/// `created_at` → `createdAt`.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// `order_lines` → `OrderLines`.
pub fn pascal(snake: &str) -> String {
    let camel = camel(snake);
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `createdAt` → `created_at`.
pub fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for ch in camel.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn singular_word(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if word.ends_with("ss") || !word.ends_with('s') {
        word.to_owned()
    } else {
        word[..word.len() - 1].to_owned()
    }
}

fn plural_word(word: &str) -> String {
    if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    }
}

/// The object type of a table: singular PascalCase (`articles` → `Article`, `order_lines`
/// → `OrderLine`, `categories` → `Category`).
pub fn type_name(table: &str) -> String {
    let (head, last) = table.rsplit_once('_').map_or(("", table), |(h, l)| (h, l));
    let singular = if head.is_empty() {
        singular_word(last)
    } else {
        format!("{head}_{}", singular_word(last))
    };
    pascal(&singular)
}

/// The root list field of a table (`articles`, `orderLines`, `siteConfigs`).
pub fn list_field(table: &str) -> String {
    let (head, last) = table.rsplit_once('_').map_or(("", table), |(h, l)| (h, l));
    let singular = singular_word(last);
    let plural = plural_word(&singular);
    camel(&if head.is_empty() {
        plural
    } else {
        format!("{head}_{plural}")
    })
}

/// The root lookup-by-key field of a table (`post`, `tenantMember`, `systemConfig`).
pub fn one_field(table: &str) -> String {
    let name = type_name(table);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `draft` → `DRAFT`.
pub fn enum_item(value: &str) -> String {
    value.to_ascii_uppercase()
}

/// The to-one field of a foreign key: `author_id` → `author`, `created_by` → `createdByProfile`.
pub fn to_one_name(fk: &crate::catalog::ForeignKey) -> String {
    match fk.column.strip_suffix("_id") {
        Some(stem) => camel(stem),
        None => format!("{}{}", camel(fk.column), type_name(fk.ref_table)),
    }
}

/// The to-many field of a foreign key on the referenced type: `articles`, or
/// `transfersBySender` when the child table references the parent more than once.
pub fn to_many_name(catalog: &crate::catalog::Catalog, fk: &crate::catalog::ForeignKey) -> String {
    let base = list_field(fk.table);
    let siblings = catalog.table(fk.table).map_or(0, |t| {
        t.foreign_keys
            .iter()
            .filter(|f| f.ref_table == fk.ref_table)
            .count()
    });
    if siblings > 1 {
        format!(
            "{base}By{}",
            pascal(fk.column.strip_suffix("_id").unwrap_or(fk.column))
        )
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_api_conventions() {
        assert_eq!(type_name("articles"), "Article");
        assert_eq!(type_name("order_lines"), "OrderLine");
        assert_eq!(type_name("categories"), "Category");
        assert_eq!(type_name("site_config"), "SiteConfig");
        assert_eq!(type_name("item_details"), "ItemDetail");
        assert_eq!(list_field("articles"), "articles");
        assert_eq!(list_field("site_config"), "siteConfigs");
        assert_eq!(list_field("categories"), "categories");
        assert_eq!(list_field("order_lines"), "orderLines");
        assert_eq!(one_field("order_lines"), "orderLine");
        assert_eq!(camel("created_at"), "createdAt");
        assert_eq!(snake("createdAt"), "created_at");
        assert_eq!(enum_item("published"), "PUBLISHED");
    }
}
