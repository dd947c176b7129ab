"""Small modal dialogs that ask the operator one question (ticket columns, forgetting)."""
