"""Identity documents, phone numbers and MVNO number segments, and the PII vault."""
