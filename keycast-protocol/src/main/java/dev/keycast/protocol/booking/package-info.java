/**
 * Bookings of KDMs from an ingested DKDM under a studio's signed rules (issue 25, wire-format.md
 * section 11): the rules a studio signs for one CPL ({@link dev.keycast.protocol.booking.StudioRules}),
 * the booking a distributor signs ({@link dev.keycast.protocol.booking.KdmBooking}), and the checks
 * that bind the two to the DKDM ({@link dev.keycast.protocol.booking.BookingChecks}).
 */
package dev.keycast.protocol.booking;
