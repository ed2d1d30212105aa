// Package stages holds the pipeline's stages: plain functions over a
// context, typed inputs and the warehouse, each idempotent for its logical
// batch and each ending in exactly one commit. The pipeline package composes
// them; the command line runs them one at a time or end to end.
package stages
