// One #[test] per check, named `eNN_exercise::check`, so that
// `cargo test -p exercises echo_server` runs the checks of one exercise and
// libtest reports each of them. This file is included by
// exercises/tests/checks.rs (with `use exercises as subject;`) and by
// solutions/tests/checks.rs (with `use solutions as subject;`): the list is
// written once. Each test only looks its check up by name and runs it under
// its deadline; the checks themselves are in exercises/src/checks/.

macro_rules! tests {
    ($($exercise:ident in $module:ident: [$($check:ident),+ $(,)?])+) => {
        $(
            mod $module {
                $(
                    #[test]
                    fn $check() {
                        let exercise = stringify!($exercise);
                        if let Err(message) =
                            crate::subject::checks::run_named(exercise, stringify!($check))
                        {
                            panic!("\n\n{message}\n\n(exercise {exercise}: edit exercises/src/{exercise}.rs, hints in exercises/src/{exercise}.hints.md)\n");
                        }
                    }
                )+
            }
        )+

        /// Every test above, to compare with the checks the crate has.
        #[allow(dead_code)]
        const LISTED: &[(&str, &[&str])] = &[$((stringify!($exercise), &[$(stringify!($check)),+])),+];
    };
}

tests! {
    threads in e01_threads: [
        returns_each_result_in_the_order_of_the_numbers,
        runs_every_call_at_the_same_time,
        keeps_the_order_when_the_threads_finish_last_to_first,
    ]
    exit_client in e02a_exit_client: [
        sends_each_line_and_prints_each_reply,
        stops_at_exit_without_sending_it,
        the_end_of_the_input_ends_the_client_cleanly,
        a_line_with_exit_inside_a_word_is_sent_like_any_other,
        exit_with_spaces_around_it_still_stops,
        exit_in_another_case_is_sent_like_any_other,
        spaces_and_empty_lines_are_sent_as_typed,
        a_windows_line_end_is_not_sent,
        a_reply_that_arrives_in_two_pieces_is_printed_as_one_line,
        a_server_that_closes_instead_of_replying_is_an_error,
    ]
    echo_server in e02b_echo_server: [
        echoes_what_one_client_sends,
        a_second_client_is_served_while_the_first_stays_connected,
        sixteen_clients_connected_at_once_are_all_served,
        a_1_mib_payload_comes_back_whole,
        a_client_that_vanishes_does_not_stop_the_server,
        two_clients_each_get_only_their_own_bytes,
        closes_the_connection_when_the_client_has_finished,
    ]
    reverse in e03_reverse: [
        answers_a_line_with_its_characters_reversed,
        reverses_characters_not_bytes,
        several_lines_in_one_write_get_one_reply_each,
        a_line_sent_in_two_pieces_gets_one_reply,
        a_character_cut_between_two_writes_is_put_back_together,
        a_line_ending_in_crlf_is_reversed_without_the_cr,
        spaces_at_the_start_and_end_of_a_line_are_reversed_too,
        a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served,
        a_line_of_exactly_the_limit_is_answered,
        a_line_that_is_too_long_gets_an_error_and_the_connection_closes,
        a_line_over_the_limit_gets_an_error_even_before_its_newline,
        the_limit_counts_bytes_not_characters,
        returns_when_the_client_closes,
    ]
    duplex in e04_duplex: [
        what_the_peer_sends_appears_while_the_user_types_nothing,
        what_the_user_types_reaches_a_peer_that_says_nothing,
        the_end_of_the_input_is_passed_on_and_the_peer_still_heard,
        returns_when_the_peer_closes_even_while_the_user_types_nothing,
        bytes_pass_through_unchanged_in_both_directions,
    ]
    console_router in e05_console_router: [
        plain_text_goes_to_every_client,
        to_n_reaches_client_n_and_nobody_else,
        an_unknown_client_is_an_error_on_the_console_and_the_room_goes_on,
        a_to_without_a_number_or_a_text_is_a_usage_error,
        an_unknown_command_is_an_error_on_the_console,
        a_client_that_left_gets_nothing_more,
        a_client_that_vanished_does_not_stop_the_room,
        returns_when_every_sender_is_gone,
    ]
    fan_out in e06_fan_out: [
        each_answer_lands_in_its_servers_slot,
        asks_every_server_at_the_same_time,
        a_silent_server_is_an_error_within_the_timeout,
        a_trickling_server_is_an_error_within_the_timeout,
        a_late_answer_in_two_pieces_is_an_answer,
        a_server_that_is_down_is_an_error_and_the_others_answer,
        a_server_that_closes_without_answering_is_an_error,
    ]
}
