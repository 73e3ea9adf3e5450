//! Writing a circular's blocks from its wording: each text by its key with the builder's
//! figures, so a builder reads as the outline of its document.

use super::chart::Chart;
use super::content::{Block, Table};
use super::wording::{Vars, Wording};
use crate::error::Result;

pub(crate) struct Compose<'a> {
    w: &'a Wording,
    vars: Vars<'a>,
    pub blocks: Vec<Block>,
}

impl<'a> Compose<'a> {
    pub fn new(w: &'a Wording, vars: Vars<'a>) -> Compose<'a> {
        Compose {
            w,
            vars,
            blocks: Vec::new(),
        }
    }

    /// A paragraph of the wording under `key`.
    pub fn para(&mut self, key: &str) -> Result<&mut Self> {
        let text = self.w.text(key, self.vars)?;
        Ok(self.text(text))
    }

    /// A paragraph the builder wrote itself.
    pub fn text(&mut self, text: String) -> &mut Self {
        self.blocks.push(Block::Paragraph { text });
        self
    }

    pub fn heading(&mut self, key: &str) -> Result<&mut Self> {
        let text = self.w.text(key, self.vars)?;
        self.blocks.push(Block::Heading { text });
        Ok(self)
    }

    pub fn table(&mut self, t: Table) -> &mut Self {
        self.blocks.push(Block::Table(t));
        self
    }

    pub fn chart(&mut self, chart: Chart) -> &mut Self {
        self.blocks.push(Block::Chart { chart });
        self
    }

    /// A named list: `{key}_intro` and the table, or `{key}_none` when nobody is on it.
    pub fn list(&mut self, t: Table, key: &str) -> Result<&mut Self> {
        if t.rows.is_empty() {
            self.para(&format!("{key}_none"))
        } else {
            self.para(&format!("{key}_intro"))?;
            Ok(self.table(t))
        }
    }
}
