//! 审核: why an application is sent back. Reviewers tick the usual problems and may add a note;
//! the applicant sees exactly that text on the order and in the notification.

use crate::FieldErrors;

/// The usual problems, in the order the reviewer's form shows them.
pub const REJECTION_REASONS: [&str; 8] = [
    "营业执照照片不清晰",
    "营业执照信息与填写内容不一致",
    "法定代表人/持有人身份证照片不清晰",
    "经办人身份证照片不清晰",
    "证件已过期",
    "申请表未签字或未盖章",
    "授权书未签字或未盖章",
    "服务协议未签字或未盖章",
];

/// Longest free-text note.
pub const MAX_NOTE_CHARS: usize = 200;

/// The text the applicant sees: the ticked reasons, then the note, joined by `；`. At least one
/// of the two is required; reasons must come from the list.
pub fn rejection_text(reasons: &[String], note: &str) -> Result<String, FieldErrors> {
    let note = note.trim();
    let mut errors = FieldErrors::new();
    if reasons.iter().any(|r| !REJECTION_REASONS.contains(&r.as_str())) {
        errors.add("reasons", "reason_unknown", "请从列表中选择不通过的原因");
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        errors.add("note", "note_too_long", format!("补充说明不能超过 {MAX_NOTE_CHARS} 个字"));
    }
    if reasons.is_empty() && note.is_empty() {
        errors.add("reasons", "reason_required", "请至少选择一项不通过的原因，或填写补充说明");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut parts: Vec<&str> = REJECTION_REASONS.iter().copied().filter(|r| reasons.iter().any(|x| x == r)).collect();
    if !note.is_empty() {
        parts.push(note);
    }
    Ok(parts.join("；"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_lists_ticked_reasons_in_order_then_the_note() {
        let ticked = vec!["经办人身份证照片不清晰".to_owned(), "营业执照照片不清晰".to_owned()];
        assert_eq!(
            rejection_text(&ticked, " 请重新拍摄 ").unwrap(),
            "营业执照照片不清晰；经办人身份证照片不清晰；请重新拍摄"
        );
        assert_eq!(rejection_text(&[], "公章模糊").unwrap(), "公章模糊");
    }

    #[test]
    fn nothing_made_up_and_nothing_empty() {
        assert!(rejection_text(&[], "  ").is_err());
        assert!(rejection_text(&["随便写的".to_owned()], "").is_err());
        assert!(rejection_text(&[], &"长".repeat(201)).is_err());
    }
}
