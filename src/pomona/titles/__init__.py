"""Patch definitions: the Jamf format, validation, storage with revisions, and the Jamf feed."""
