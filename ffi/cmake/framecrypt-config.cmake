# SPDX-License-Identifier: MIT OR Apache-2.0
#
# CMake package config for framecrypt, installed by `cargo cinstall` into
# <prefix>/share/cmake/framecrypt/. With that prefix in CMAKE_PREFIX_PATH:
#
#   find_package(framecrypt 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE framecrypt::framecrypt)          # shared
#   target_link_libraries(app PRIVATE framecrypt::framecrypt_static)   # static
#
# The static target carries the system libraries the Rust standard library
# needs (threads, dl, m, rt, util, gcc_s), as `pkg-config --static` gives
# them. The pkg-config route works as well:
#
#   find_package(PkgConfig REQUIRED)
#   pkg_check_modules(FRAMECRYPT REQUIRED IMPORTED_TARGET framecrypt)
#   target_link_libraries(app PRIVATE PkgConfig::FRAMECRYPT)

cmake_minimum_required(VERSION 3.14)

# <prefix>/share/cmake/framecrypt -> <prefix>
get_filename_component(_framecrypt_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

find_path(FRAMECRYPT_INCLUDE_DIR framecrypt.h
    PATHS "${_framecrypt_prefix}/include" NO_DEFAULT_PATH)
# cargo-c's libdir is lib/ or, on Debian-like systems, lib/<triplet>/.
set(_framecrypt_libdirs "${_framecrypt_prefix}/lib")
if(CMAKE_LIBRARY_ARCHITECTURE)
    list(APPEND _framecrypt_libdirs "${_framecrypt_prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
find_library(FRAMECRYPT_SHARED_LIBRARY
    NAMES "${CMAKE_SHARED_LIBRARY_PREFIX}framecrypt${CMAKE_SHARED_LIBRARY_SUFFIX}"
    PATHS ${_framecrypt_libdirs} NO_DEFAULT_PATH)
find_library(FRAMECRYPT_STATIC_LIBRARY
    NAMES "${CMAKE_STATIC_LIBRARY_PREFIX}framecrypt${CMAKE_STATIC_LIBRARY_SUFFIX}"
    PATHS ${_framecrypt_libdirs} NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(framecrypt
    REQUIRED_VARS FRAMECRYPT_INCLUDE_DIR
    VERSION_VAR framecrypt_VERSION
    HANDLE_COMPONENTS)

if(FRAMECRYPT_SHARED_LIBRARY AND NOT TARGET framecrypt::framecrypt)
    add_library(framecrypt::framecrypt SHARED IMPORTED)
    set_target_properties(framecrypt::framecrypt PROPERTIES
        IMPORTED_LOCATION "${FRAMECRYPT_SHARED_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${FRAMECRYPT_INCLUDE_DIR}")
endif()

if(FRAMECRYPT_STATIC_LIBRARY AND NOT TARGET framecrypt::framecrypt_static)
    find_package(Threads REQUIRED)
    add_library(framecrypt::framecrypt_static STATIC IMPORTED)
    set_target_properties(framecrypt::framecrypt_static PROPERTIES
        IMPORTED_LOCATION "${FRAMECRYPT_STATIC_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${FRAMECRYPT_INCLUDE_DIR}")
    set(_framecrypt_system_libs Threads::Threads ${CMAKE_DL_LIBS})
    if(UNIX AND NOT APPLE)
        list(APPEND _framecrypt_system_libs m rt util gcc_s)
    endif()
    set_property(TARGET framecrypt::framecrypt_static PROPERTY
        INTERFACE_LINK_LIBRARIES "${_framecrypt_system_libs}")
endif()

if(NOT TARGET framecrypt::framecrypt AND NOT TARGET framecrypt::framecrypt_static)
    set(framecrypt_FOUND FALSE)
    set(framecrypt_NOT_FOUND_MESSAGE
        "framecrypt: no libframecrypt under ${_framecrypt_prefix}/lib")
endif()
