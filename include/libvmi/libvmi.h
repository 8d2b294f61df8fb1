/*
 * LibVMI compatibility: a LibVMI program includes <libvmi/libvmi.h> and links
 * with -ltinyvmi. The API is tinyvmi's own, declared with LibVMI's names.
 */
#ifndef TINYVMI_LIBVMI_COMPAT_H
#define TINYVMI_LIBVMI_COMPAT_H

#include <tinyvmi/tinyvmi.h>
#include <tinyvmi/linux.h>

#endif
