"""Reference solutions of the labs: one folder per lab, holding the files a learner edits."""
