"""Tests of local_augment/engines/."""
