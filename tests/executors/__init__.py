"""Tests of local_augment/executors/."""
