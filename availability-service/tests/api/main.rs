//! availability-service against real dependencies: one test binary, the
//! harness in [`helpers`].

mod availabilities;
mod helpers;
