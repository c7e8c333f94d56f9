"""The compile workflow and what follows it: steps, build config, build folders, report, deployment, exploration."""
