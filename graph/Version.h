// graph/Version.h — graphc's version and the model-plugin ABI version.
// CMakeLists.txt reads GRAPHC_VERSION from this file.
#pragma once

#define GRAPHC_VERSION "0.1.0"
// Bump when a change to the headers plugins include (graph/, models/) breaks
// libraries built against the previous ones.
#define GRAPHC_PLUGIN_ABI 4  // 3: builder and layer functions take a Where (the caller's file and line); 4: Node::group, Builder::Group, cells know their names
