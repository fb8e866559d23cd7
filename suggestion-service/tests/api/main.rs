//! suggestion-service against real dependencies: one test binary, the
//! harness in [`helpers`].

mod helpers;
mod levels;
mod suggestions;
