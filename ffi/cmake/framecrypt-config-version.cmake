# SPDX-License-Identifier: MIT OR Apache-2.0
#
# The version of framecrypt this package config describes; CI checks that
# it is the crate's version. Before 1.0, a minor version is a major one: a
# request for 0.1 accepts 0.1.x only.

set(PACKAGE_VERSION "0.1.0")

if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(PACKAGE_FIND_VERSION_MAJOR STREQUAL "0")
    if(PACKAGE_FIND_VERSION_MINOR STREQUAL "1")
        set(PACKAGE_VERSION_COMPATIBLE TRUE)
    else()
        set(PACKAGE_VERSION_COMPATIBLE FALSE)
    endif()
else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()

if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
endif()
