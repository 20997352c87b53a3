//! Display masking of personal data (GB/T 35273 §7.2): keep a few leading and trailing
//! characters, replace the rest with `*`.

/// Keeps `head` leading and `tail` trailing characters; masks everything between.
/// Values too short to keep anything hidden are masked entirely.
pub fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A Chinese name shown as its first character followed by `*` for the rest.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_is_shown_as_three_and_four() {
        assert_eq!(mask_middle("13812345678", 3, 4), "138****5678");
    }

    #[test]
    fn id_number_is_shown_as_three_and_four() {
        assert_eq!(mask_middle("11010519491231002X", 3, 4), "110***********002X");
    }

    #[test]
    fn short_values_are_fully_masked() {
        assert_eq!(mask_middle("1234", 3, 4), "****");
    }

    #[test]
    fn names_keep_only_the_first_character() {
        assert_eq!(mask_name("张三丰"), "张**");
    }
}
