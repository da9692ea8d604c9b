"""Detection: rules, models (behaviour, SMS content), explanations, evaluation on labelled data."""
