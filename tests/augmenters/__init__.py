"""Tests of local_augment/augmenters/."""
