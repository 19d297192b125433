// Command route_guide_server serves the RouteGuide service over h2c on
// 127.0.0.1, with the features of a JSON database (--json_db_file; by
// default the one package guide embeds). Once it listens, its first line of
// standard output is "listening on ADDRESS", the address it got: with
// --port=0 the system picks a free port, and scripts read it from that line.
package main
