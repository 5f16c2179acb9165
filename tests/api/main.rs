//! Integration tests: the real app over HTTP against a fresh PostgreSQL database per test.

mod admin;
mod attachments;
mod auth;
mod bad_input;
mod cli;
mod cluster;
mod conversations;
mod downloads;
mod hardening;
mod helpers;
mod isolation;
mod limits;
mod messages;
mod pages;
mod realtime;
mod sockets;
