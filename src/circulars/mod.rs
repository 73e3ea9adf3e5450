//! The bureau's documents (Art. 21: 通报). This release has the charts; the circulars
//! themselves (DOCX, PDF, HTML) build on them.

pub mod chart;
