//! Errors of the renderings.

/// A rendering failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    /// The embedded font could not be loaded.
    #[error("the embedded font could not be loaded")]
    Font,
    /// Drawing a plot failed.
    #[error("plot {plot}: {message}")]
    Plot {
        /// The plot's name.
        plot: String,
        /// What went wrong.
        message: String,
    },
    /// Encoding a plot as PNG failed.
    #[error("PNG encoding of plot {plot}: {message}")]
    Png {
        /// The plot's name.
        plot: String,
        /// What went wrong.
        message: String,
    },
}
