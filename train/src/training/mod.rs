//! Supervised training (the teacher, and the loop the student reuses).

pub mod schedule;
