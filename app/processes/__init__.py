"""Process instance pages: status, current step, diagram and the audit timeline."""
