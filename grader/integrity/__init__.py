"""The integrity gate: the shared code is the kit's, the editable part keeps to its rules."""
